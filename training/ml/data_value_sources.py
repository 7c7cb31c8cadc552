"""The data sources the ``data_value`` job can leave out, per model task: a registry, so that a
new kind of training data (synthetic query pairs, say) slots in with one ``register_source``
call next to the code that makes it. Plain Python (no Django).

``kind`` says how a task's ablation leaves the source out:

- ``event``: interactions of the types in ``detail`` (labels for the ranker, rows for CF);
- ``feature``: a model input (the ranker's shown position);
- ``pairs``: a kind of retriever training pair (``detail`` names the pair source);
- ``field``: a product text field the retriever reads;
- ``cleaning``: rows the data quality report flagged (with vs without ``exclude_flagged``).
"""

from __future__ import annotations

from dataclasses import dataclass

TASKS = ("ranker", "cf", "retriever")


@dataclass(frozen=True)
class DataSource:
    """One source a task's ablation can leave out."""

    task: str
    name: str
    title: str  # plural noun phrase for the report: "clicks", "product descriptions"
    kind: str
    detail: tuple[str, ...] = ()


_SOURCES: dict[str, dict[str, DataSource]] = {task: {} for task in TASKS}


def register_source(source: DataSource) -> DataSource:
    """Add (or replace) a source of a task; the report lists sources in registration order."""
    if source.task not in _SOURCES:
        raise ValueError(f"unknown task {source.task!r}; one of {', '.join(TASKS)}")
    _SOURCES[source.task][source.name] = source
    return source


def sources_for(task: str) -> list[DataSource]:
    """The registered sources of ``task``, in registration order."""
    return list(_SOURCES[task].values())


for _source in (
    DataSource("ranker", "clicks", "clicks", "event", ("click",)),
    DataSource("ranker", "add_to_cart", "add-to-cart events", "event", ("add_to_cart",)),
    DataSource("ranker", "purchases", "purchases", "event", ("purchase",)),
    DataSource("ranker", "position", "shown positions", "feature", ("position",)),
    DataSource("ranker", "flagged", "rows the data quality report flagged", "cleaning"),
    DataSource("cf", "views", "views", "event", ("view",)),
    DataSource("cf", "clicks", "clicks", "event", ("click",)),
    DataSource("cf", "add_to_cart", "add-to-cart events", "event", ("add_to_cart",)),
    DataSource("cf", "purchases", "purchases", "event", ("purchase",)),
    DataSource("cf", "ratings", "ratings and reviews", "event", ("rating", "review")),
    DataSource("cf", "flagged", "rows the data quality report flagged", "cleaning"),
    DataSource("retriever", "click_pairs", "pairs mined from clicks", "pairs", ("click",)),
    DataSource(
        "retriever", "cart_pairs", "pairs mined from add-to-cart events", "pairs", ("add_to_cart",)
    ),
    DataSource("retriever", "purchase_pairs", "pairs mined from purchases", "pairs", ("purchase",)),
    DataSource("retriever", "labels", "operator labels", "pairs", ("label",)),
    DataSource("retriever", "synthetic", "synthetic queries", "pairs", ("synthetic",)),
    DataSource("retriever", "title", "product titles", "field", ("title",)),
    DataSource("retriever", "description", "product descriptions", "field", ("description",)),
    DataSource("retriever", "attributes", "product attributes", "field", ("attributes",)),
    DataSource("retriever", "category", "category paths", "field", ("category",)),
):
    register_source(_source)
