"""Reads of the review-sentiment pages and alert rule: only the insight tables (a day per
series, spikes, phrases), never the events table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum

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


def week_vs_baseline(
    *, level: str, end: date, min_reviews: int = 3, limit: int = 50, order: str = "lift"
) -> list[SeriesWeek]:
    """Every series of ``level`` with at least ``min_reviews`` reviews in the 7 days ending
    ``end``, with its baseline; the most negative first (by rise over the baseline, or by
    ``order`` "share"), or the most reviewed (``order`` "volume")."""
    week_start = end - timedelta(days=6)
    base_start = week_start - timedelta(days=BASELINE_DAYS)
    in_week = Q(day__gte=week_start)
    rows = (
        SentimentDaily.objects.filter(level=level, day__gte=base_start, day__lte=end)
        .values("key")
        .annotate(
            n=Sum("reviews", filter=in_week),
            k=Sum("negatives", filter=in_week),
            bn=Sum("reviews", filter=~in_week),
            bk=Sum("negatives", filter=~in_week),
        )
        .filter(n__gte=min_reviews)
    )
    weeks = [
        SeriesWeek(level, r["key"], "", r["n"] or 0, r["k"] or 0, r["bn"] or 0, r["bk"] or 0)
        for r in rows
    ]
    if order == "share":
        weeks.sort(key=lambda w: (-w.share, -w.reviews, w.key))
    elif order == "volume":
        weeks.sort(key=lambda w: (-w.reviews, w.key))
    else:
        weeks.sort(key=lambda w: (-(w.lift if w.lift is not None else w.share), -w.reviews, w.key))
    weeks = weeks[:limit]
    names = _names(level, [w.key for w in weeks])
    return [
        SeriesWeek(
            w.level,
            w.key,
            names.get(w.key, "?"),
            w.reviews,
            w.negatives,
            w.baseline_reviews,
            w.baseline_negatives,
        )
        for w in weeks
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
