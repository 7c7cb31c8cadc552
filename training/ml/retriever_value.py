"""The retriever's data value (plain Python; torch only inside ``train_retriever`` and the
encoder): fine-tune the retriever with each source left out, and on nested samples, and score
every run on the same held-out queries over a fixed re-rank pool.

Sources are of two kinds (``training.ml.data_value_sources``):

- ``pairs``: a kind of training pair (mined from clicks, add-to-cart or purchases, operator
  labels, synthetic queries). A pair carries every kind it came from; leaving a kind out drops
  the pairs that came *only* from it (a query → product engaged by a click and a purchase stays
  when clicks are left out, as a ranker label keeps its strongest other level).
- ``field``: a product field of the text the retriever reads (title, brand, category path,
  description). Leaving it out removes it from the product texts of training *and* of the
  pool, so the run answers: what does the model gain from reading this field.

Budget: no run re-embeds the catalogue. Each held-out query is scored on its own pool (its
judged products plus the top candidates of the base encoder's stored vectors, fixed before any
run), so a run encodes only the pool's products and the held-out queries. Each fine-tune takes
at most ``max_steps`` optimizer steps (one pass over a seeded sample of at most ``max_steps *
batch_size`` examples). The models are thrown away.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from training.ml import metrics
from training.ml.data_value import CURVE_FRACTIONS, ablation_row, curve_and_report, nested_samples
from training.ml.data_value_sources import DataSource
from training.ml.encoders import encode_texts, product_text
from training.ml.progress import CancelCheck, JobCancelled
from training.ml.retriever import RetrieverTrainConfig, train_retriever

METRIC = "NDCG@10"
#: the product fields the retriever's text is made of (``product_text``'s order)
TEXT_FIELDS = ("title", "brand", "category", "description")


@dataclass(frozen=True)
class ValuePair:
    """A (query, product) training pair and every kind of source it came from."""

    query: str
    product_id: Hashable
    kinds: frozenset[str]


@dataclass(frozen=True)
class ProductFields:
    """The fields of a product's retriever text (``attributes`` kept to say it is not read)."""

    title: str = ""
    brand: str = ""
    category: str = ""
    description: str = ""

    def text(self, dropped: frozenset[str] = frozenset()) -> str:
        """The retriever's text of the product with the ``dropped`` fields left out."""
        return product_text(
            "" if "title" in dropped else self.title,
            None if "brand" in dropped else self.brand,
            None if "category" in dropped else self.category,
            None if "description" in dropped else self.description,
        )


@dataclass(frozen=True)
class HeldOut:
    """The held-out queries: each one's judged products (gain) and its fixed re-rank pool."""

    judgments: Mapping[str, Mapping[Hashable, float]]
    pools: Mapping[str, Sequence[Hashable]]

    @property
    def queries(self) -> list[str]:
        return sorted(q for q in self.judgments if any(g > 0 for g in self.judgments[q].values()))

    def products(self) -> list[Hashable]:
        """Every product a run encodes: the union of the pools, in a fixed order."""
        seen: dict[Hashable, None] = {}
        for query in self.queries:
            for pid in self.pools.get(query, ()):
                seen.setdefault(pid, None)
        return list(seen)


def re_rank_pool(
    judged: Mapping[Hashable, float], candidates: Sequence[Hashable], known: set
) -> list[Hashable]:
    """A query's pool: its judged products, then the base encoder's candidates, each once,
    among the products whose text is known."""
    pool: dict[Hashable, None] = {}
    for pid in [*judged, *candidates]:
        if pid in known:
            pool.setdefault(pid, None)
    return list(pool)


def pool_scores(
    model,
    held_out: HeldOut,
    fields: Mapping[Hashable, ProductFields],
    *,
    dropped: frozenset[str] = frozenset(),
    k: int = 10,
    batch_size: int = 128,
    should_cancel: CancelCheck | None = None,
) -> list[float]:
    """NDCG@k of each held-out query (``held_out.queries`` order) when ``model`` re-ranks the
    query's pool by cosine; the pool's texts leave out the ``dropped`` fields."""
    queries = held_out.queries
    products = held_out.products()
    row = {pid: i for i, pid in enumerate(products)}
    texts = [fields[pid].text(dropped) for pid in products]
    product_vectors = encode_texts(model, texts, batch_size=batch_size, should_cancel=should_cancel)
    query_vectors = encode_texts(model, queries, batch_size=batch_size, should_cancel=should_cancel)
    out = []
    for n, query in enumerate(queries):
        pool = list(held_out.pools.get(query, ()))
        if not pool:
            out.append(0.0)
            continue
        scores = product_vectors[[row[pid] for pid in pool]] @ query_vectors[n]
        order = [pool[i] for i in np.argsort(-scores, kind="stable")]
        out.append(metrics.ndcg_at_k(order, held_out.judgments[query], k))
    return out


def capped_sample(
    pairs: Sequence[ValuePair], fields: Mapping[Hashable, ProductFields], *, cap: int, seed: int
) -> list[ValuePair]:
    """The pairs a run trains on: those with a known product, a seeded sample of ``cap`` at most."""
    usable = [p for p in pairs if p.product_id in fields]
    if len(usable) > cap:
        usable = random.Random(seed).sample(usable, cap)
    return usable


def capped_examples(
    pairs: Sequence[ValuePair],
    fields: Mapping[Hashable, ProductFields],
    *,
    cap: int,
    seed: int,
    dropped_fields: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """``(query, product text)`` examples of ``capped_sample(pairs)``."""
    return [
        (p.query, fields[p.product_id].text(dropped_fields))
        for p in capped_sample(pairs, fields, cap=cap, seed=seed)
    ]


def retriever_data_value(
    train: Sequence[ValuePair],
    held_out: HeldOut,
    fields: Mapping[Hashable, ProductFields],
    sources: Sequence[DataSource],
    config: RetrieverTrainConfig,
    *,
    max_steps: int = 40,
    curve: bool = True,
    bootstrap: int = 2000,
    seed: int = 0,
    base_model=None,
    progress: Callable[[int, int, str], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> dict:
    """Ablation rows, the learning curve and the baseline on ``held_out`` (see the module doc).

    ``config``: the fine-tune of every run (one epoch; its ``batch_size`` times ``max_steps``
    caps the examples of a run). ``base_model``, when given, is scored too (the pool re-ranked
    without fine-tuning: ``base_metric``). Returns ``{"baseline", "units", "ablation",
    "curve", "base_metric", "steps"}``.
    """
    queries = held_out.queries
    if not queries:
        raise ValueError("no held-out query has a judged product")
    cap = max(1, max_steps) * config.batch_size
    run_config = replace(config, epochs=1)
    measured = [(source, _skip_reason(source, train, fields)) for source in sources]
    # The curve nests inside what the full run trains on: with more pairs than a run's cap,
    # that is the capped sample, and doubling projects a doubled step budget.
    curve_pool = capped_sample(train, fields, cap=cap, seed=seed)
    sizes = nested_samples(range(len(curve_pool)), CURVE_FRACTIONS, seed=seed) if curve else {}
    total = 1 + sum(1 for _, reason in measured if not reason) + max(len(sizes) - 1, 0)
    done = 0
    steps: list[int] = []

    def fit(pairs: Sequence[ValuePair], label: str, dropped_fields=frozenset()) -> list[float]:
        nonlocal done
        if should_cancel is not None and should_cancel():
            raise JobCancelled("cancelled by request")
        if progress is not None:
            progress(done, total, label)
        done += 1
        examples = capped_examples(
            pairs, fields, cap=cap, seed=seed, dropped_fields=frozenset(dropped_fields)
        )
        if len(examples) < 2:
            return [0.0] * len(queries)  # nothing to learn from: no fine-tune to score
        result = train_retriever(run_config, examples, None, should_cancel=should_cancel)
        steps.append(result.steps)
        result.model.max_seq_length = config.max_seq_len  # the pool is read as training read
        return pool_scores(
            result.model,
            held_out,
            fields,
            dropped=frozenset(dropped_fields),
            should_cancel=should_cancel,
        )

    base_metric = None
    if base_model is not None:
        base_metric = float(
            np.mean(pool_scores(base_model, held_out, fields, should_cancel=should_cancel))
        )
    full = fit(train, "all sources")
    ablation = []
    for n, (source, reason) in enumerate(measured):
        row = {"source": source.name, "title": source.title, "kind": source.kind}
        if reason:
            ablation.append({**row, "skipped": reason, "rows": 0})
            continue
        if source.kind == "pairs":
            dropped = frozenset(source.detail)
            kept = [p for p in train if p.kinds - dropped]
            without = fit(kept, f"without {source.title}")
            row["rows"] = len(train) - len(kept)
        else:  # field: left out of every product text, training and pool alike
            without = fit(train, f"without {source.title}", dropped_fields=source.detail)
            row["rows"] = sum(1 for f in fields.values() if _field_value(f, source.detail))
        ablation.append(ablation_row(row, full, without, samples=bootstrap, seed=seed + n + 1))
    report = curve_and_report(
        {fraction: [curve_pool[i] for i in picked] for fraction, picked in sizes.items()},
        full,
        fit,
        what="training pairs",
        units=len(queries),
        ablation=ablation,
        bootstrap=bootstrap,
        seed=seed,
    )
    if progress is not None:
        progress(total, total, "done")
    report["base_metric"] = round(base_metric, 5) if base_metric is not None else None
    report["steps"] = steps
    report["cap"] = cap
    report["curve_pairs"] = len(curve_pool)
    return report


def _field_value(fields: ProductFields, names: Sequence[str]) -> bool:
    return any(getattr(fields, name, "") for name in names)


def _skip_reason(
    source: DataSource, train: Sequence[ValuePair], fields: Mapping[Hashable, ProductFields]
) -> str:
    if source.kind == "pairs":
        if not any(p.kinds & set(source.detail) for p in train):
            return "no training pair comes from it (zero rows)"
        if all(p.kinds <= set(source.detail) for p in train):
            return "every training pair comes from it alone"
        if not any(p.kinds <= set(source.detail) for p in train):
            return "each of its pairs also came from another source: leaving it out drops none"
        return ""
    if source.kind == "field":
        if not set(source.detail) <= set(TEXT_FIELDS):
            return (
                "the retriever's product text does not read it (title | brand | category | "
                "description)"
            )
        if not any(_field_value(f, source.detail) for f in fields.values()):
            return "no product has it (zero rows)"
        return ""
    return f"a {source.kind} source does not apply to the retriever"
