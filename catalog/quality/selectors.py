"""Reads of the data quality checks: bounded SQL feeds the plain rules of
:mod:`catalog.quality.logic`. Nothing here writes (the report row is written by
:func:`catalog.services.quality.quality_report_run`).

Each query is one pass over its table (grouped in SQL) or a read of a few narrow columns of the
products; examples are fetched only for the first ``MAX_EXAMPLES`` findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from django.db import connection
from django.db.models import Count, Q

from catalog.models import Category, Event, EventType, Product, Shopper
from catalog.quality import logic
from catalog.quality.logic import MAX_EXAMPLES, MAX_SUBJECT_IDS, CheckResult

# Event types that name a product: one without a product points at nothing the store sells.
PRODUCT_EVENT_TYPES = (
    EventType.VIEW,
    EventType.CLICK,
    EventType.ADD_TO_CART,
    EventType.PURCHASE,
    EventType.RATING,
    EventType.REVIEW,
)

# (product id, nearest other product id, cosine) for every product whose nearest neighbour
# passes the threshold; given by the caller (the training app owns the vectors).
NeighbourPairs = Callable[[float], Iterable[tuple[int, int, float]]]


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the checks (stored with each report)."""

    near_duplicate_cosine: float = 0.99
    min_title_chars: int = 4
    min_description_chars: int = 20
    price_z: float = logic.Z_THRESHOLD
    min_category_size: int = 8
    bot_z: float = logic.Z_THRESHOLD
    bot_min_events_per_hour: int = 50
    bot_min_ratio: float = 10.0

    def as_dict(self) -> dict:
        return asdict(self)


def _products(ids: Iterable[int]) -> dict[int, dict]:
    rows = Product.objects.filter(pk__in=list(ids)).values(
        "pk", "external_id", "title", "price", "active", "category__name"
    )
    return {row["pk"]: row for row in rows}


def _product_example(row: dict) -> dict:
    return {
        "product": row["pk"],
        "external_id": row["external_id"],
        "title": row["title"][:120],
        "category": row["category__name"] or "",
    }


def duplicate_titles() -> CheckResult:
    """Active products whose titles are equal once case, accents and punctuation are folded."""
    rows = Product.objects.filter(active=True).values_list("pk", "title").iterator(chunk_size=20000)
    groups = logic.duplicate_title_groups(rows)
    shown = groups[:MAX_EXAMPLES]
    info = _products(pk for group in shown for pk in group)
    return CheckResult(
        name="duplicate_titles",
        label="Duplicate products (same normalised title)",
        subject="group",
        count=sum(len(g) - 1 for g in groups),
        examples=[
            {"products": [_product_example(info[pk]) for pk in group if pk in info]}
            for group in shown
        ],
        ids=groups[:MAX_SUBJECT_IDS],
        note=f"{len(groups)} groups; the count is the products a merge would retire.",
    )


def near_duplicates(
    neighbours: NeighbourPairs | None, *, threshold: float, exact_groups: list[list[int]]
) -> CheckResult:
    """Products whose nearest neighbour under the active retriever is at least ``threshold``
    cosine-similar (one index probe per product, in SQL), minus exact-title duplicates."""
    result = CheckResult(
        name="near_duplicates",
        label=f"Near-duplicate products (embedding cosine ≥ {threshold:g})",
        subject="group",
    )
    if neighbours is None:
        result.skipped = True
        result.note = "No embedded retriever: run embed_catalog to check near-duplicates."
        return result
    groups = logic.near_duplicate_groups(neighbours(threshold), exact_groups=exact_groups)
    shown = groups[:MAX_EXAMPLES]
    info = _products(pk for group, _ in shown for pk in group)
    result.count = sum(len(g) - 1 for g, _ in groups)
    result.examples = [
        {"cosine": cosine, "products": [_product_example(info[pk]) for pk in group if pk in info]}
        for group, cosine in shown
    ]
    result.ids = [group for group, _ in groups[:MAX_SUBJECT_IDS]]
    result.note = f"{len(groups)} groups."
    return result


def short_text(field: str, *, min_chars: int) -> CheckResult:
    """Active products whose ``field`` (title or description) is missing or shorter than
    ``min_chars`` characters once trimmed."""
    sql = (
        f"SELECT id FROM catalog_product WHERE active "
        f"AND char_length(btrim({field})) < %s ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [min_chars])
        ids = [pk for (pk,) in cursor.fetchall()]
    info = _products(ids[:MAX_EXAMPLES])
    examples = []
    if field == "description":
        texts = dict(
            Product.objects.filter(pk__in=ids[:MAX_EXAMPLES]).values_list("pk", "description")
        )
    for pk in ids[:MAX_EXAMPLES]:
        example = _product_example(info[pk])
        if field == "description":
            example["description"] = texts.get(pk, "")[:120]
        examples.append(example)
    return CheckResult(
        name=f"short_{field}",
        label=f"Missing or very short {field}s (under {min_chars} characters)",
        subject="product",
        count=len(ids),
        examples=examples,
        ids=ids[:MAX_SUBJECT_IDS],
    )


def price_outliers(*, threshold: float, min_category_size: int) -> CheckResult:
    """Active products priced far from their category (robust z-score of log price)."""
    rows = (
        Product.objects.filter(active=True, category__isnull=False)
        .values_list("pk", "category_id", "price")
        .iterator(chunk_size=20000)
    )
    found = logic.price_outliers(rows, threshold=threshold, min_category_size=min_category_size)
    info = _products(o.product_id for o in found[:MAX_EXAMPLES])
    return CheckResult(
        name="price_outliers",
        label="Price outliers within their category",
        subject="product",
        count=len(found),
        examples=[
            {
                **_product_example(info[o.product_id]),
                "price": o.price,
                "category_median": o.category_median,
                "z": o.z,
            }
            for o in found[:MAX_EXAMPLES]
        ],
        ids=[o.product_id for o in found[:MAX_SUBJECT_IDS]],
        note=f"|robust z| of log price > {threshold:g}; categories of {min_category_size}+ products.",
    )


def events_without_live_product() -> CheckResult:
    """Events that name no product (a product-bearing type) or an inactive product."""
    missing = Q(product__isnull=True, type__in=PRODUCT_EVENT_TYPES)
    inactive = Q(product__active=False)
    by_product = list(
        Event.objects.filter(missing | inactive)
        .values("product_id")
        .annotate(events=Count("id"))
        .order_by("-events", "product_id")
    )
    total = sum(row["events"] for row in by_product)
    info = _products(row["product_id"] for row in by_product[:MAX_EXAMPLES] if row["product_id"])
    examples = []
    for row in by_product[:MAX_EXAMPLES]:
        pk = row["product_id"]
        if pk is None:
            examples.append({"product": None, "title": "(no product)", "events": row["events"]})
        else:
            examples.append({**_product_example(info[pk]), "events": row["events"]})
    ids = list(
        Event.objects.filter(missing | inactive)
        .order_by("id")
        .values_list("id", flat=True)[:MAX_SUBJECT_IDS]
    )
    return CheckResult(
        name="events_inactive_products",
        label="Events on unknown or inactive products",
        subject="event",
        count=total,
        examples=examples,
        ids=ids,
        note="Grouped by product in the examples; the fix flags the events.",
    )


def bot_like_shoppers(*, threshold: float, min_peak: int, min_ratio: float) -> CheckResult:
    """Shoppers whose busiest hour holds far more events than the store's shoppers' busiest
    hours (one grouped pass over the events)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shopper_id, max(n) FROM ("
            "  SELECT shopper_id, count(*) AS n FROM catalog_event"
            "  GROUP BY shopper_id, date_trunc('hour', timestamp)"
            ") per_hour GROUP BY shopper_id"
        )
        peaks = cursor.fetchall()
    found = logic.bot_like_shoppers(
        peaks, threshold=threshold, min_peak=min_peak, min_ratio=min_ratio
    )
    shown = found[:MAX_EXAMPLES]
    names = dict(
        Shopper.objects.filter(pk__in=[b.shopper_id for b in shown]).values_list(
            "pk", "external_id"
        )
    )
    totals = dict(
        Event.objects.filter(shopper_id__in=[b.shopper_id for b in shown])
        .values("shopper_id")
        .annotate(n=Count("id"))
        .values_list("shopper_id", "n")
    )
    median = found[0].store_median if found else None
    return CheckResult(
        name="bot_shoppers",
        label="Bot-like shoppers (event rate far above the store's)",
        subject="shopper",
        count=len(found),
        examples=[
            {
                "shopper": b.shopper_id,
                "external_id": names.get(b.shopper_id, ""),
                "peak_events_per_hour": b.peak,
                "store_median_peak": b.store_median,
                "events": totals.get(b.shopper_id, 0),
                "z": b.z,
            }
            for b in shown
        ],
        ids=[b.shopper_id for b in found[:MAX_SUBJECT_IDS]],
        note=(
            f"Busiest hour: robust z of log events > {threshold:g}, at least {min_peak} events "
            f"and {min_ratio:g}× the store's median"
            + (f" ({median:g})." if median is not None else ".")
        ),
    )


def orphan_categories() -> CheckResult:
    """Categories with no active product anywhere in their subtree."""
    categories = list(Category.objects.values_list("pk", "path"))
    used = (
        Product.objects.filter(active=True, category__isnull=False)
        .values_list("category_id", flat=True)
        .distinct()
    )
    ids = logic.orphan_categories(categories, used)
    names = dict(Category.objects.filter(pk__in=ids[:MAX_EXAMPLES]).values_list("pk", "name"))
    paths = dict(categories)
    return CheckResult(
        name="orphan_categories",
        label="Orphan categories (no active product in their subtree)",
        subject="category",
        count=len(ids),
        examples=[
            {"category": pk, "name": names.get(pk, ""), "path": paths[pk]}
            for pk in ids[:MAX_EXAMPLES]
        ],
        ids=ids[:MAX_SUBJECT_IDS],
    )


def reviews_without_ratings() -> CheckResult:
    """Review events that carry no rating value."""
    qs = Event.objects.filter(type=EventType.REVIEW, value__isnull=True).order_by("id")
    count = qs.count()
    rows = list(
        qs.values("pk", "product_id", "shopper_id", "shopper__external_id", "review")[:MAX_EXAMPLES]
    )
    return CheckResult(
        name="reviews_without_ratings",
        label="Reviews without a rating",
        subject="event",
        count=count,
        examples=[
            {
                "event": row["pk"],
                "product": row["product_id"],
                "shopper": row["shopper_id"],
                "external_id": row["shopper__external_id"],
                "review": (row["review"] or "")[:120],
            }
            for row in rows
        ],
        ids=list(qs.values_list("id", flat=True)[:MAX_SUBJECT_IDS]),
        note="Sentiment training labels reviews from their rating: these cannot be used.",
    )


def store_totals() -> dict[str, int]:
    return {
        "products": Product.objects.filter(active=True).count(),
        "categories": Category.objects.count(),
        "shoppers": Shopper.objects.count(),
        "events": Event.objects.count(),
    }
