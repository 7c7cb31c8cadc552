"""Training data read from the store: Django rows in, plain rows and splits out.

Everything here reads; the plain-Python code in ``training.ml`` does the mining, splitting and
training. Each builder returns the data and a JSON-ready snapshot that is stored with the
version, so a split can be rebuilt (same seed, same rows) by the ``evaluate`` job.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import EventType, Product
from training.classifier_labels import intent_labels, sentiment_from_rating
from training.ml.pairs import EventRow, QueryPair, hard_negatives, mine_query_pairs, normalize_query
from training.ml.snapshots import FrozenSplit, split_as_frozen
from training.ml.splits import Split, split_by_key, split_by_time, split_per_user
from training.ml.weak_labels import SessionEvent, weak_intent_labels
from training.models import QueryLabel

PAIR_EVENT_TYPES = (EventType.SEARCH, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)
RATIOS = (0.7, 0.15, 0.15)


# =========================================================================== flagged rows

# Set for the duration of a job run with ``exclude_flagged=true`` (services.job_run): every
# reader below, and those of training.ranking_data, leave out what the data quality report's
# fix actions flagged. A context variable, so the flag reaches every job kind's readers (and
# the threads a worker runs jobs on each see their own job's value).
_EXCLUDE_FLAGGED: ContextVar[bool] = ContextVar("training_exclude_flagged", default=False)


@contextlib.contextmanager
def flagged_rows_excluded(exclude: bool = True) -> Iterator[None]:
    """Within this block the training readers honour (or ignore) the exclude-from-training flags."""
    token = _EXCLUDE_FLAGGED.set(bool(exclude))
    try:
        yield
    finally:
        _EXCLUDE_FLAGGED.reset(token)


def excluding_flagged() -> bool:
    return _EXCLUDE_FLAGGED.get()


def training_events():
    """The events training may read (flagged ones left out inside ``flagged_rows_excluded``)."""
    return catalog_selectors.training_events(exclude_flagged=excluding_flagged())


def training_search_logs():
    """The search logs training may read (a flagged shopper's left out when excluding)."""
    return catalog_selectors.training_search_logs(exclude_flagged=excluding_flagged())


def _since(days: int | None):
    return timezone.now() - timedelta(days=days) if days else None


# =========================================================================== retriever pairs


def _pk_in(queryset, ids):
    """``queryset`` restricted to the primary keys ``ids`` (one array parameter, however many)."""
    table = queryset.model._meta.db_table
    return queryset.extra(where=[f'"{table}"."id" = ANY(%s)'], params=[[int(i) for i in ids]])


def search_event_rows(
    *,
    days: int | None = None,
    types: Iterable[str] = PAIR_EVENT_TYPES,
    ids: dict[str, list[int]] | None = None,
    only: dict[str, Any] | None = None,
) -> list[EventRow]:
    """Events of ``types`` plus every SearchLog row (as a ``search``), for pair mining.

    ``ids``, when given, receives the primary keys read (``events``, ``searches``: what a
    frozen snapshot stores); ``only`` restricts the rows to such stored keys."""
    since = _since(days)
    events = training_events().filter(type__in=list(types))
    logs = training_search_logs().all()
    if since is not None:
        events = events.filter(timestamp__gte=since)
        logs = logs.filter(timestamp__gte=since)
    if only is not None:
        events = _pk_in(events, only.get("events", ()))
        logs = _pk_in(logs, only.get("searches", ()))
    event_ids: list[int] = []
    search_ids: list[int] = []
    rows = []
    for pk, shopper, session, kind, product, query, ts, position, request_id in events.values_list(
        "pk",
        "shopper_id",
        "session",
        "type",
        "product_id",
        "query",
        "timestamp",
        "position",
        "request_id",
    ).iterator(chunk_size=20000):
        event_ids.append(pk)
        rows.append(
            EventRow(
                shopper=shopper,
                session=session or None,
                type=kind,
                product=product,
                query=query or None,
                timestamp=ts,
                position=position,
                request_id=request_id or None,
            )
        )
    for pk, shopper, session, query, ts, request_id in logs.values_list(
        "pk", "shopper_id", "session", "query", "timestamp", "request_id"
    ).iterator(chunk_size=20000):
        search_ids.append(pk)
        rows.append(
            EventRow(
                shopper=shopper,
                session=session or None,
                type="search",
                product=None,
                query=query,
                timestamp=ts,
                request_id=request_id or None,
            )
        )
    if ids is not None:
        ids["events"], ids["searches"] = event_ids, search_ids
    return rows


@dataclass
class RetrieverData:
    """Mined pairs split by query, and the snapshot describing them (``ids``: the primary keys
    of the rows mined, ``events`` and ``searches``, for a frozen snapshot)."""

    split: Split[QueryPair]
    snapshot: dict[str, Any]
    ids: dict[str, list[int]] = field(default_factory=dict)
    #: the rows mined (kept with ``keep_rows``: the data-value job mines them per event type)
    rows: list[EventRow] = field(default_factory=list)

    def judgments(self, part: str = "test") -> dict[str, dict[int, float]]:
        """``{query: {product id: gain}}``: gain = mean engagement weight per journey (1 click … 3 purchase)."""
        out: dict[str, dict[int, float]] = defaultdict(dict)
        for pair in self.split.parts()[part]:
            out[pair.query][pair.product_id] = round(pair.weight / max(pair.count, 1), 3)
        return dict(out)

    def frozen_parts(self) -> dict[str, list[str]]:
        """The queries of each part (what a frozen snapshot of a retriever stores)."""
        return {name: sorted(keys) for name, keys in self.split.keys.items()}


def retriever_data(
    *,
    seed: int,
    days: int | None = None,
    frozen: FrozenSplit | None = None,
    keep_rows: bool = False,
) -> RetrieverData:
    """Pairs mined from the search log and events, split 70/15/15 by query with ``seed``.

    With ``frozen`` (a stored snapshot), the pairs are mined from the snapshot's rows only and
    each query goes to the part it is stored in: the same pairs, whatever arrived since."""
    ids: dict[str, list[int]] = {}
    if frozen is not None:
        rows = search_event_rows(only=frozen.rows, ids=ids)
    else:
        rows = search_event_rows(days=days, ids=ids)
    pairs = mine_query_pairs(rows)
    if frozen is not None:
        split = split_as_frozen(pairs, lambda p: p.query, frozen)
    else:
        split = split_by_key(pairs, key_fn=lambda p: p.query, seed=seed, ratios=RATIOS)
    snapshot = {
        "source": "search log + search events followed by click / add_to_cart / purchase",
        "events": len(rows),
        "pairs": len(pairs),
        "days": days,
        "built_at": timezone.now().isoformat(),
        "split": split.summary(),
    }
    return RetrieverData(split=split, snapshot=snapshot, ids=ids, rows=rows if keep_rows else [])


def shown_not_engaged(*, days: int | None = None) -> dict[str, list[int]]:
    """``{normalised query: [product ids shown, in order]}`` from the search log (hard negatives)."""
    logs = training_search_logs().exclude(shown_products=[])
    if days:
        logs = logs.filter(timestamp__gte=_since(days))
    by_query: dict[str, list[str]] = defaultdict(list)
    for query, shown in logs.values_list("normalised_query", "shown_products").iterator(
        chunk_size=5000
    ):
        for external_id in shown or []:
            if external_id not in by_query[query]:
                by_query[query].append(external_id)
    external = {e for ids in by_query.values() for e in ids}
    pks = dict(Product.objects.filter(external_id__in=external).values_list("external_id", "pk"))
    return {normalize_query(q): [pks[e] for e in ids if e in pks] for q, ids in by_query.items()}


def training_triples(
    pairs: list[QueryPair], *, negatives: dict[str, list[int]] | None, texts: dict[int, str]
) -> list[tuple[str, ...]]:
    """``(query, product text[, negative text])`` examples for ``train_retriever``."""
    if negatives:
        by_pair = {(t.query, t.product_id): t.negative_id for t in hard_negatives(pairs, negatives)}
    else:
        by_pair = {}
    out: list[tuple[str, ...]] = []
    for pair in pairs:
        text = texts.get(pair.product_id)
        if not text:
            continue
        negative = by_pair.get((pair.query, pair.product_id))
        if negative is not None and texts.get(negative):
            out.append((pair.query, text, texts[negative]))
        else:
            out.append((pair.query, text))
    return out


def product_texts_by_id(product_ids: Iterable[int]) -> dict[int, str]:
    """Embedding texts of the given products (active or not: a pair may name a retired one)."""
    from training.ml.encoders import product_text
    from training.vectors import category_labels

    categories = category_labels()
    rows = Product.objects.filter(pk__in=list(set(product_ids))).values_list(
        "pk", "title", "brand__name", "category_id", "description"
    )
    return {
        pk: product_text(title, brand, categories.get(cat), desc)
        for pk, title, brand, cat, desc in rows
    }


def judged_csv(path: str | Path) -> dict[str, dict[int, float]]:
    """Read a judged CSV (``query,product_id,...,grade``; product_id an external id) as
    ``{normalised query: {product pk: grade}}``; unknown products are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"judged CSV {path} does not exist")
    raw: dict[str, dict[str, float]] = defaultdict(dict)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"query", "product_id", "grade"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        for row in reader:
            raw[normalize_query(row["query"])][row["product_id"]] = float(row["grade"] or 0)
    external = {e for grades in raw.values() for e in grades}
    pks = dict(Product.objects.filter(external_id__in=external).values_list("external_id", "pk"))
    return {q: {pks[e]: g for e, g in grades.items() if e in pks} for q, grades in raw.items()}


# =========================================================================== intent / sentiment


def session_events(*, days: int | None = None) -> list[SessionEvent]:
    """Every event (and logged search) as a ``SessionEvent`` for weak intent labels."""
    since = _since(days)
    events = training_events().all()
    logs = training_search_logs().all()
    if since is not None:
        events, logs = events.filter(timestamp__gte=since), logs.filter(timestamp__gte=since)
    out = [
        SessionEvent(
            session=session or f"shopper:{shopper}", type=kind, query=query or None, timestamp=ts
        )
        for shopper, session, kind, query, ts in events.values_list(
            "shopper_id", "session", "type", "query", "timestamp"
        ).iterator(chunk_size=20000)
    ]
    out.extend(
        SessionEvent(
            session=session or f"shopper:{shopper}", type="search", query=query, timestamp=ts
        )
        for shopper, session, query, ts in logs.values_list(
            "shopper_id", "session", "query", "timestamp"
        ).iterator(chunk_size=20000)
    )
    return out


@dataclass
class TextExamples:
    """Labelled texts split 70/15/15 by key, with the label set and a snapshot."""

    split: Split[tuple[str, str]]
    labels: list[str]
    snapshot: dict[str, Any] = field(default_factory=dict)


def intent_examples(*, mode: str, seed: int, days: int | None = None) -> TextExamples:
    """Intent-labelled queries: operator labels (``manual``), weak labels from what the session
    did next (``weak``), or both with operator labels winning (``auto``). Split by query."""
    labels = list(intent_labels())
    manual = {
        q: label for q, label in QueryLabel.objects.values_list("query", "label") if label in labels
    }
    weak: dict[str, str] = {}
    if mode in ("auto", "weak"):
        weak = {
            q: label
            for q, label in weak_intent_labels(session_events(days=days)).items()
            if label in labels
        }
    if mode == "manual":
        chosen = manual
    elif mode == "weak":
        chosen = weak
    else:
        chosen = {**weak, **manual}
    items = sorted(chosen.items())
    split = split_by_key(items, key_fn=lambda item: item[0], seed=seed, ratios=RATIOS)
    snapshot = {
        "source": {
            "auto": "operator labels over weak session labels",
            "manual": "operator labels",
            "weak": "weak session labels",
        }[mode],
        "manual_labels": len(manual),
        "weak_labels": len(weak),
        "examples": len(items),
        "label_counts": dict(Counter(label for _, label in items)),
        "days": days,
        "split": split.summary(),
    }
    return TextExamples(split=split, labels=labels, snapshot=snapshot)


def sentiment_examples(*, seed: int, days: int | None = None) -> TextExamples:
    """Review texts labelled from their rating (1–2 negative, 3 neutral, 4–5 positive), split by
    review text (a text repeated by several shoppers never lands in two splits)."""
    reviews = (
        training_events().filter(type__in=[EventType.REVIEW, EventType.RATING]).exclude(review="")
    )
    if days:
        reviews = reviews.filter(timestamp__gte=_since(days))
    items: list[tuple[str, str]] = []
    for text, rating in reviews.values_list("review", "value").iterator(chunk_size=20000):
        label = sentiment_from_rating(rating)
        if label is not None and text.strip():
            items.append((text.strip(), label))
    split = split_by_key(items, key_fn=lambda item: item[0], seed=seed, ratios=RATIOS)
    snapshot = {
        "source": "review events, label from the rating",
        "examples": len(items),
        "label_counts": dict(Counter(label for _, label in items)),
        "days": days,
        "split": split.summary(),
    }
    from training.classifier_labels import SENTIMENT_LABELS

    return TextExamples(split=split, labels=list(SENTIMENT_LABELS), snapshot=snapshot)


# =========================================================================== collaborative filtering

CF_WEIGHTS = {
    EventType.VIEW: 0.5,
    EventType.CLICK: 1.0,
    EventType.ADD_TO_CART: 2.0,
    EventType.PURCHASE: 3.0,
    EventType.RATING: 1.0,
    EventType.REVIEW: 1.0,
}


def cf_interactions(
    *,
    days: int | None = None,
    protocol: str = "global_time",
    seed: int = 42,
    frozen: FrozenSplit | None = None,
) -> tuple[Split[tuple[Hashable, Hashable, float, Any, int]], dict]:
    """``(shopper, product, weight, timestamp, event id)`` rows split 70/15/15 (or, with
    ``frozen``, the stored snapshot's events in their stored parts).

    ``protocol``: ``global_time`` (one time boundary for everyone), ``per_user_time`` (each
    shopper's latest products held out) or ``per_user_random`` (seeded, per shopper).
    """
    events = training_events().filter(type__in=list(CF_WEIGHTS), product__isnull=False)
    if frozen is not None:
        events = _pk_in(events, frozen.event_ids())
    elif days:
        events = events.filter(timestamp__gte=_since(days))
    rows = [
        (shopper, product, CF_WEIGHTS[kind], ts, pk)
        for shopper, product, kind, ts, pk in events.values_list(
            "shopper_id", "product_id", "type", "timestamp", "pk"
        ).iterator(chunk_size=50000)
    ]
    if frozen is not None:
        split = split_as_frozen(rows, lambda row: row[4], frozen)
    elif protocol == "global_time":
        split = split_by_time(rows, time_fn=lambda row: row[3], ratios=RATIOS)
    else:
        split = split_per_user(
            rows,
            user_fn=lambda row: row[0],
            item_fn=lambda row: row[1],
            time_fn=lambda row: row[3],
            method=protocol,
            seed=seed,
            ratios=RATIOS,
        )
    snapshot = {
        "source": "events (view 0.5, click 1, rating/review 1, cart 2, purchase 3)",
        "interactions": len(rows),
        "weights": {str(k): v for k, v in CF_WEIGHTS.items()},
        "days": days,
        "split": split.summary(),
        "protocol": protocol,
    }
    return split, snapshot
