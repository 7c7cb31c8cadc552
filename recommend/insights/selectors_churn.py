"""Reads of the churn-risk insight for the admin pages: the latest run and the win-back lists
(precomputed by the ``churn_risk`` job; a fixed number of queries, no scan of the events)."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Product
from recommend.insights.models import ChurnRun, ChurnScore


def churn_run_latest() -> ChurnRun | None:
    return ChurnRun.objects.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class WinbackRow:
    shopper_id: int
    shopper: str
    risk: float
    value: float
    recency_days: float
    reasons: str
    products: list[tuple[str, str]]  # (external id, title)


def winback_lists() -> dict[str, list[WinbackRow]]:
    """Per group (segment, else top category): the shoppers the job picked for win-back,
    highest risk × value first, with the products to show them."""
    rows = list(
        ChurnScore.objects.select_related("shopper")
        .filter(in_winback=True)
        .order_by("group", "-risk")[:5000]
    )
    ids = {pk for row in rows for pk in row.winback_products}
    products = {
        pk: (ext, title)
        for pk, ext, title in Product.objects.filter(pk__in=ids).values_list(
            "pk", "external_id", "title"
        )
    }
    out: dict[str, list[WinbackRow]] = {}
    for row in sorted(rows, key=lambda r: (r.group, -r.risk * (1.0 + r.value))):
        out.setdefault(row.group, []).append(
            WinbackRow(
                shopper_id=row.shopper_id,
                shopper=row.shopper.external_id,
                risk=row.risk,
                value=row.value,
                recency_days=row.recency_days,
                reasons=row.reason_text,
                products=[products[pk] for pk in row.winback_products if pk in products],
            )
        )
    return out
