"""Reads of the shopper profiles and segments: what the shopper page and the segments page
show, from the tables the ``shopper_segments`` job fills, and one shopper's latest events (by
the ``(shopper, timestamp)`` index). What the shopper is served: :mod:`recommend.insights.preview`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection

from recommend.insights.logic import segments as logic
from recommend.insights.models import ProfileSnapshot, Segment, ShopperInsight

CHANGE_DAYS = 30
RECENT_EVENTS = 40
NEAREST = 6


@dataclass
class InterestRow:
    name: str
    now: float
    before: float
    change: float


@dataclass
class ShopperPage:
    """Everything the shopper page shows, read in a fixed number of queries."""

    shopper: Any
    insight: ShopperInsight | None
    snapshot_day: Any = None
    before_day: Any = None
    categories: list[InterestRow] = field(default_factory=list)
    brands: list[InterestRow] = field(default_factory=list)
    nearest_shoppers: list[dict[str, Any]] = field(default_factory=list)
    nearest_products: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _rows(now: dict, before: dict, names: dict[int, str]) -> list[InterestRow]:
    return [
        InterestRow(name=names.get(int(key), str(key)), now=a, before=b, change=c)
        for key, a, b, c in logic.interest_change(now, before)
    ]


def shopper_page(shopper, *, insight: ShopperInsight | None = None) -> ShopperPage:
    """The shopper's interests now and ``CHANGE_DAYS`` before (the snapshot of the day the
    segments were computed, else the latest, and the one closest to a month earlier), nearest shoppers and products of their profile embedding, and
    their latest events."""
    from catalog.models import Brand, Category

    if insight is None:
        insight = ShopperInsight.objects.select_related("segment").filter(shopper=shopper).first()
    page = ShopperPage(shopper=shopper, insight=insight)
    snapshots = ProfileSnapshot.objects.filter(shopper=shopper)
    if insight is not None:  # the day the segments were computed at, so the page agrees
        snapshots = snapshots.filter(day__lte=insight.computed_at.date())
    latest = snapshots.order_by("-day").first()
    if latest is not None:
        earlier = (
            ProfileSnapshot.objects.filter(
                shopper=shopper, day__lte=latest.day - timedelta(days=CHANGE_DAYS)
            )
            .order_by("-day")
            .first()
        )
        page.snapshot_day = latest.day
        page.before_day = earlier.day if earlier else None
        ids = {int(k) for k in latest.categories} | {
            int(k) for k in (earlier.categories if earlier else {})
        }
        brand_ids = {int(k) for k in latest.brands} | {
            int(k) for k in (earlier.brands if earlier else {})
        }
        page.categories = _rows(
            latest.categories,
            earlier.categories if earlier else {},
            dict(Category.objects.filter(pk__in=ids).values_list("pk", "name")),
        )
        page.brands = _rows(
            latest.brands,
            earlier.brands if earlier else {},
            dict(Brand.objects.filter(pk__in=brand_ids).values_list("pk", "name")),
        )
    if insight is not None and insight.vector is not None and insight.retriever_id:
        page.nearest_shoppers = _nearest_shoppers(insight)
        page.nearest_products = _nearest_products(insight)
    page.events = recent_events(shopper.pk)
    return page


def _nearest_shoppers(insight: ShopperInsight) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.external_id, 1 - (i.vector <=> p.vector), seg.name, i.top_category "
            "FROM insights_shopperinsight i "
            "JOIN insights_shopperinsight p ON p.shopper_id = %s "
            "JOIN catalog_shopper s ON s.id = i.shopper_id "
            "LEFT JOIN insights_segment seg ON seg.id = i.segment_id "
            "WHERE i.retriever_id = %s AND i.shopper_id <> %s AND i.vector IS NOT NULL "
            "ORDER BY i.vector <=> p.vector LIMIT %s",
            [insight.shopper_id, insight.retriever_id, insight.shopper_id, NEAREST],
        )
        return [
            {"external_id": ext, "similarity": float(sim), "segment": seg or "", "top": top}
            for ext, sim, seg, top in cursor.fetchall()
        ]


def _nearest_products(insight: ShopperInsight) -> list[dict[str, Any]]:
    import numpy as np

    from recommend.serving.retrievers import PgVectorIndex

    vector = np.asarray(insight.vector, dtype=np.float32)
    index = PgVectorIndex(insight.retriever_id, len(vector))
    found = index.search(vector, NEAREST + 4)
    from catalog.models import Product

    rows = Product.objects.filter(pk__in=[pk for pk, _ in found]).select_related(
        "category", "brand"
    )
    by_id = {p.pk: p for p in rows}
    return [
        {
            "external_id": by_id[pk].external_id,
            "title": by_id[pk].title,
            "category": by_id[pk].category.name if by_id[pk].category_id else "",
            "similarity": float(score),
        }
        for pk, score in found
        if pk in by_id
    ][: NEAREST + 4]


def recent_events(shopper_id: int, limit: int = RECENT_EVENTS) -> list[dict[str, Any]]:
    """The shopper's latest events, newest first (the ``(shopper, timestamp)`` index: a bounded
    read whatever the size of the events table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.timestamp, e.type, p.external_id, p.title, e.query, e.value, e.session "
            "FROM (SELECT * FROM catalog_event WHERE shopper_id = %s "
            "ORDER BY timestamp DESC, id DESC LIMIT %s) e "
            "LEFT JOIN catalog_product p ON p.id = e.product_id ORDER BY e.timestamp DESC, e.id DESC",
            [shopper_id, limit],
        )
        keys = ("timestamp", "type", "product", "title", "query", "value", "session")
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def segment_names_of(shopper_ids) -> dict[int, str]:
    """Each shopper's current segment name (shoppers without one are left out): what an
    experiment's assignment freezes when the shopper is first assigned."""
    ids = [s for s in shopper_ids if s]
    if not ids:
        return {}
    return dict(
        ShopperInsight.objects.filter(shopper_id__in=ids, segment__isnull=False).values_list(
            "shopper_id", "segment__name"
        )
    )


def segment_profiles() -> list[dict[str, Any]]:
    """The current segments as drafting sees them: name, size, conversion rate and the
    categories their shoppers lean to (``[name, share, lift]``, best first)."""
    return [
        {"name": name, "size": size, "conversion_rate": rate, "top_categories": top or []}
        for name, size, rate, top in Segment.objects.order_by("-size", "label").values_list(
            "name", "size", "conversion_rate", "top_categories"
        )
    ]


def segment_choices() -> list[str]:
    return list(Segment.objects.order_by("name").values_list("name", flat=True))
