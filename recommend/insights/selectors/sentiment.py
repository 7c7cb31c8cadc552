"""Reads of the review-sentiment pages and alert rule: only the insight tables (a day per
series, spikes, phrases), never the events table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from catalog.models import Brand, Category, Product
from recommend.insights.models import (
    SentimentDaily,
    SentimentPhrase,
    SentimentSpike,
    SentimentState,
    SeriesLevel,
)

BASELINE_DAYS = 28


def sentiment_state() -> SentimentState | None:
    return SentimentState.objects.select_related("model_version").filter(pk=1).first()


def latest_day() -> date | None:
    """The last day with a review (the pages' "today"), from the store series."""
    row = SentimentDaily.objects.filter(level=SeriesLevel.STORE, key=0).order_by("-day").first()
    return row.day if row else None


def series_points(*, level: str, key: int, start: date, end: date) -> list[tuple[date, int, int]]:
    """``(day, reviews, negatives)`` of one series, every day from ``start`` to ``end``."""
    got = {
        day: (n, k)
        for day, n, k in SentimentDaily.objects.filter(
            level=level, key=key, day__gte=start, day__lte=end
        ).values_list("day", "reviews", "negatives")
    }
    out, day = [], start
    while day <= end:
        n, k = got.get(day, (0, 0))
        out.append((day, n, k))
        day += timedelta(days=1)
    return out


def series_name(level: str, key: int) -> str:
    if level == SeriesLevel.PRODUCT:
        return Product.objects.filter(pk=key).values_list("title", flat=True).first() or "?"
    if level == SeriesLevel.BRAND:
        return Brand.objects.filter(pk=key).values_list("name", flat=True).first() or "?"
    if level == SeriesLevel.CATEGORY:
        return Category.objects.filter(pk=key).values_list("name", flat=True).first() or "?"
    return "whole store"


@dataclass(frozen=True)
class SeriesWeek:
    """A series' last week against its own baseline (the ``BASELINE_DAYS`` before the week)."""

    level: str
    key: int
    name: str
    reviews: int
    negatives: int
    baseline_reviews: int
    baseline_negatives: int

    @property
    def share(self) -> float:
        return self.negatives / self.reviews if self.reviews else 0.0

    @property
    def baseline_share(self) -> float | None:
        return self.baseline_negatives / self.baseline_reviews if self.baseline_reviews else None

    @property
    def lift(self) -> float | None:
        base = self.baseline_share
        return None if base is None else self.share - base


ORDERS = {
    "lift": "k::float / n - coalesce(bk::float / nullif(bn, 0), 0) DESC, n DESC, key",
    "share": "k::float / n DESC, n DESC, key",
    "volume": "n DESC, key",
}
WEEK_SQL = """
SELECT key, n, k, bn, bk FROM (
  SELECT key,
         sum(reviews) FILTER (WHERE day >= %(week)s) AS n,
         sum(negatives) FILTER (WHERE day >= %(week)s) AS k,
         coalesce(sum(reviews) FILTER (WHERE day < %(week)s), 0) AS bn,
         coalesce(sum(negatives) FILTER (WHERE day < %(week)s), 0) AS bk
    FROM {table}
   WHERE level = %(level)s AND day >= %(base)s AND day <= %(end)s
   GROUP BY key
) AS series
WHERE n >= %(min)s
ORDER BY {order}
LIMIT %(limit)s
"""


def week_vs_baseline(
    *, level: str, end: date, min_reviews: int = 3, limit: int = 50, order: str = "lift"
) -> list[SeriesWeek]:
    """Every series of ``level`` with at least ``min_reviews`` reviews in the 7 days ending
    ``end``, with its baseline (the ``BASELINE_DAYS`` before the week); the most negative first
    (``order`` "lift": the rise over the baseline, the share itself without one; "share"), or
    the most reviewed ("volume"). Sorted and cut in SQL: the page builds ``limit`` rows."""
    week_start = end - timedelta(days=6)
    sql = WEEK_SQL.format(table=SentimentDaily._meta.db_table, order=ORDERS[order])
    params = {
        "week": week_start,
        "base": week_start - timedelta(days=BASELINE_DAYS),
        "end": end,
        "level": level,
        "min": max(1, min_reviews),
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = _names(level, [row[0] for row in rows])
    return [
        SeriesWeek(level, key, names.get(key, "?"), int(n), int(k), int(bn), int(bk))
        for key, n, k, bn, bk in rows
    ]


def _names(level: str, keys: list[int]) -> dict[int, str]:
    if level == SeriesLevel.PRODUCT:
        return dict(Product.objects.filter(pk__in=keys).values_list("pk", "title"))
    if level == SeriesLevel.BRAND:
        return dict(Brand.objects.filter(pk__in=keys).values_list("pk", "name"))
    if level == SeriesLevel.CATEGORY:
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {0: "whole store"}


def recent_spikes(*, since: date, limit: int = 100) -> list[SentimentSpike]:
    return list(SentimentSpike.objects.filter(day__gte=since).order_by("-day", "q_value")[:limit])


def rising_phrases(*, limit: int = 200) -> list[SentimentPhrase]:
    """The week's rising phrases, highest score first, with their product."""
    return list(
        SentimentPhrase.objects.select_related("product").order_by("-score", "product_id")[:limit]
    )


def spike_findings_since(since: date) -> dict[str, SentimentSpike]:
    """Per alert subject, its first spike on or after ``since`` (the alert rule's findings)."""
    first: dict[str, SentimentSpike] = {}
    for spike in SentimentSpike.objects.filter(day__gte=since).order_by("day", "q_value"):
        first.setdefault(spike.subject, spike)
    return first
