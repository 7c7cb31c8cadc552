"""Writes of the shopper profiles and segments: the ``shopper_segments`` job's work.

One pass over the events per day written: each shopper's interest distribution over categories
and brands as of that day (``ProfileSnapshot``), their profile embedding under the active
retriever (the serving profile's decayed weighting, in bulk: a sparse shopper × product weight
matrix times the product vectors), a k-means clustering of those embeddings with k chosen by
silhouette (``Segment``), and one ``ShopperInsight`` row per shopper that the pages read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction

from recommend.engine.profiles import EVENT_WEIGHTS
from recommend.insights.logic import segments as logic
from recommend.insights.models import ProfileSnapshot, Segment, ShopperInsight
from recommend.serving.retrievers import PgVectorIndex

#: Interests decay like the serving profile's category interests; the embedding like its vector.
INTEREST_HALF_LIFE_DAYS = 30.0
VECTOR_HALF_LIFE_DAYS = 14.0
#: Events older than this before the snapshot day weigh under 0.02 % and are not read.
LOOKBACK_DAYS = 365
CONVERSION_DAYS = 30

Progress = Callable[[float, str], None]


def _weights_values() -> tuple[str, list]:
    rows = ", ".join(["(%s, %s::float8)"] * len(EVENT_WEIGHTS))
    return rows, [v for pair in EVENT_WEIGHTS.items() for v in pair]


def _decay() -> str:
    """The SQL of one event's weight: its type's weight halved every half-life before as-of
    (parameters: as-of, half-life in days)."""
    return "w.weight * power(0.5, extract(epoch FROM (%s - e.timestamp))::float8 / 86400.0 / %s)"


@dataclass
class Interests:
    """Per shopper: category id → share, brand id → share, and their weighted event count."""

    categories: dict[int, dict[str, float]] = field(default_factory=dict)
    brands: dict[int, dict[str, float]] = field(default_factory=dict)
    events: dict[int, int] = field(default_factory=dict)


def interests_as_of(as_of: datetime) -> Interests:
    """Every shopper's decayed interest shares over categories and brands, from the weighted
    events in the ``LOOKBACK_DAYS`` before ``as_of`` (one grouped scan of the events)."""
    values, weights = _weights_values()
    sql = (
        f"SELECT e.shopper_id, GROUPING(p.brand_id), p.category_id, p.brand_id, sum({_decay()}) "
        "FROM catalog_event e JOIN catalog_product p ON p.id = e.product_id "
        f"JOIN (VALUES {values}) AS w(type, weight) ON w.type = e.type "
        "WHERE e.timestamp < %s AND e.timestamp >= %s "
        "GROUP BY GROUPING SETS ((e.shopper_id, p.category_id), (e.shopper_id, p.brand_id))"
    )
    since = as_of - timedelta(days=LOOKBACK_DAYS)
    raw_categories: dict[int, dict[str, float]] = {}
    raw_brands: dict[int, dict[str, float]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, INTEREST_HALF_LIFE_DAYS, *weights, as_of, since])
        for shopper_id, by_category, category_id, brand_id, weight in cursor.fetchall():
            if by_category:  # GROUPING(brand) = 1: the (shopper, category) set
                if category_id is not None:
                    raw_categories.setdefault(shopper_id, {})[str(category_id)] = float(weight)
            elif brand_id is not None:
                raw_brands.setdefault(shopper_id, {})[str(brand_id)] = float(weight)
        cursor.execute(
            "SELECT shopper_id, count(*) FROM catalog_event WHERE timestamp < %s "
            "AND timestamp >= %s AND product_id IS NOT NULL AND type = ANY(%s) GROUP BY shopper_id",
            [as_of, since, list(EVENT_WEIGHTS)],
        )
        events = dict(cursor.fetchall())
    return Interests(
        categories={s: logic.normalise_shares(w) for s, w in raw_categories.items()},
        brands={s: logic.normalise_shares(w) for s, w in raw_brands.items()},
        events=events,
    )


def snapshots_write(*, interests: Interests, day) -> int:
    """Store the day's snapshot of every shopper in ``interests`` (replacing that day's)."""
    rows = [
        ProfileSnapshot(
            shopper_id=shopper_id,
            day=day,
            categories={k: round(v, 5) for k, v in shares.items()},
            brands={k: round(v, 5) for k, v in interests.brands.get(shopper_id, {}).items()},
            event_count=interests.events.get(shopper_id, 0),
        )
        for shopper_id, shares in interests.categories.items()
    ]
    ProfileSnapshot.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["shopper", "day"],
        update_fields=["categories", "brands", "event_count"],
    )
    return len(rows)


def profile_vectors(*, as_of: datetime, retriever_id: int) -> tuple[list[int], np.ndarray]:
    """``(shopper ids, unit-length profile embeddings)`` under the retriever: each shopper's
    decayed, weighted mean of their engaged products' normalised vectors (the serving
    profile's formula, :func:`recommend.engine.profiles.decayed_profile`, over the lookback)."""
    from scipy.sparse import csr_matrix

    values, weights = _weights_values()
    since = as_of - timedelta(days=LOOKBACK_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.shopper_id, e.product_id, sum({_decay()}) FROM catalog_event e "
            f"JOIN (VALUES {values}) AS w(type, weight) ON w.type = e.type "
            "WHERE e.timestamp < %s AND e.timestamp >= %s AND e.product_id IS NOT NULL "
            "GROUP BY e.shopper_id, e.product_id",
            [as_of, VECTOR_HALF_LIFE_DAYS, *weights, as_of, since],
        )
        pairs = cursor.fetchall()
        products = sorted({p for _, p, _ in pairs})
    vectors = PgVectorIndex(retriever_id, 0).vectors(products)
    if not vectors:
        return [], np.zeros((0, 0), dtype=np.float32)
    columns = {pk: i for i, pk in enumerate(sorted(vectors))}
    matrix = np.stack([vectors[pk] for pk in sorted(vectors)])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    shoppers = sorted({s for s, p, _ in pairs if p in columns})
    rows_of = {s: i for i, s in enumerate(shoppers)}
    kept = [(rows_of[s], columns[p], float(w)) for s, p, w in pairs if p in columns]
    weight = csr_matrix(
        ([w for *_, w in kept], ([r for r, *_ in kept], [c for _, c, _ in kept])),
        shape=(len(shoppers), len(columns)),
    )
    profiles = np.asarray(weight @ matrix)
    lengths = np.linalg.norm(profiles, axis=1, keepdims=True)
    usable = lengths[:, 0] > 1e-12
    profiles = profiles[usable] / lengths[usable]
    return [s for s, ok in zip(shoppers, usable, strict=True) if ok], profiles.astype(np.float32)


def store_clock(now: datetime) -> datetime:
    """The moment the figures are taken at: now, or just after the last event when the log
    stopped earlier (a demo store, a one-off import), so "the last 30 days" hold its traffic."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(timestamp) FROM catalog_event")
        (latest,) = cursor.fetchone()
    if latest is None or latest >= now:
        return now
    return latest + timedelta(seconds=1)


def purchases_since(since: datetime, until: datetime) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shopper_id, count(*) FROM catalog_event WHERE type = 'purchase' "
            "AND timestamp >= %s AND timestamp < %s GROUP BY shopper_id",
            [since, until],
        )
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class SegmentsOutcome:
    snapshots: int
    backfilled: int
    shoppers: int
    clustered: int
    k: int
    silhouette: float
    silhouette_by_k: dict[int, float]
    segments: list[dict]


def shopper_segments_run(
    *,
    as_of: datetime,
    retriever_id: int | None,
    k_min: int = 2,
    k_max: int = 8,
    seed: int = 0,
    backfill_days: int = 30,
    job_id: int | None = None,
    progress: Progress = lambda fraction, label: None,
) -> SegmentsOutcome:
    """Today's snapshots (and the one ``backfill_days`` back when none is stored for that day),
    the profile embeddings, the segments and the shopper rows; returns what it found."""
    from catalog.models import Category

    day = as_of.date()
    progress(0.05, "interests as of today")
    today = interests_as_of(as_of)
    snapshots = snapshots_write(interests=today, day=day)
    backfilled = 0
    if backfill_days > 0:
        back_day = day - timedelta(days=backfill_days)
        if not ProfileSnapshot.objects.filter(day=back_day).exists():
            progress(0.25, f"interests as of {back_day} (backfill)")
            backfilled = snapshots_write(
                interests=interests_as_of(as_of - timedelta(days=backfill_days)), day=back_day
            )
    progress(0.45, "profile embeddings")
    shoppers, vectors = (
        profile_vectors(as_of=as_of, retriever_id=retriever_id) if retriever_id else ([], None)
    )
    progress(0.6, f"clustering {len(shoppers)} profiles")
    names = dict(Category.objects.values_list("pk", "name"))
    purchases = purchases_since(as_of - timedelta(days=CONVERSION_DAYS), as_of)
    clustering = (
        logic.cluster_profiles(vectors, k_min=k_min, k_max=k_max, seed=seed)
        if shoppers
        else logic.Clustering(k=0, labels=np.zeros(0, dtype=int), silhouette=0.0, scores={})
    )
    named_interests = [
        {names.get(int(c), c): s for c, s in today.categories.get(pk, {}).items()}
        for pk in shoppers
    ]
    summaries = logic.summarise_segments(
        clustering.labels, named_interests, [purchases.get(pk, 0) > 0 for pk in shoppers]
    )
    progress(0.85, "writing segments")
    computed_at = as_of
    with transaction.atomic():
        Segment.objects.all().delete()
        by_label = {
            s.label: Segment.objects.create(
                label=s.label,
                name=s.name,
                size=s.size,
                conversion_rate=s.conversion_rate,
                top_categories=[list(t) for t in s.top_categories],
                silhouette=clustering.silhouette,
                computed_at=computed_at,
                job_id=job_id,
            )
            for s in summaries
        }
        segment_of = {
            pk: by_label[int(label)].pk
            for pk, label in zip(shoppers, clustering.labels, strict=True)
        }
        vector_of = {pk: vectors[i].tolist() for i, pk in enumerate(shoppers)}
        everyone = sorted(set(today.categories) | set(shoppers))
        rows = []
        for pk in everyone:
            shares = today.categories.get(pk, {})
            top = max(shares.items(), key=lambda kv: kv[1])[0] if shares else ""
            rows.append(
                ShopperInsight(
                    shopper_id=pk,
                    segment_id=segment_of.get(pk),
                    top_category=str(names.get(int(top), ""))[:200] if top else "",
                    event_count=today.events.get(pk, 0),
                    purchases_30d=purchases.get(pk, 0),
                    vector=vector_of.get(pk),
                    retriever_id=retriever_id if pk in vector_of else None,
                    computed_at=computed_at,
                )
            )
        ShopperInsight.objects.exclude(shopper_id__in=everyone).delete()
        ShopperInsight.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["shopper"],
            update_fields=[
                "segment",
                "top_category",
                "event_count",
                "purchases_30d",
                "vector",
                "retriever_id",
                "computed_at",
            ],
        )
    return SegmentsOutcome(
        snapshots=snapshots,
        backfilled=backfilled,
        shoppers=len(everyone),
        clustered=len(shoppers),
        k=clustering.k,
        silhouette=round(clustering.silhouette, 4),
        silhouette_by_k={k: round(v, 4) for k, v in clustering.scores.items()},
        segments=[
            {"name": s.name, "size": s.size, "conversion_rate": round(s.conversion_rate, 4)}
            for s in summaries
        ],
    )
