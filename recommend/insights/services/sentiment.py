"""``score_reviews``'s work: label every new review event, keep the daily series, detect spikes
and find the rising negative phrases.

- **Scoring** is incremental: review events (type ``review`` with text) past the watermark
  (``SentimentState.last_event_id``, the highest event id scored) are labelled in batches by a
  *scorer* — the active sentiment model, or, when none is active, the star rating as a proxy
  (1–2 stars negative, 3 neutral, 4–5 positive; labelled ``rating`` on every row and page).
  When the scorer changes (a model becomes active, another is promoted), every review is
  scored again from the start, so one series never mixes two scorers.
- **Daily series**: every day a new review fell on is recounted wholly from the labels, for the
  store, each product, each brand and each (leaf) category, so a rerun gives the same rows.
- **Spikes**: every recounted day is tested (``recommend.insights.logic.sentiment``): binomial
  test against the series' own trailing baseline, Benjamini–Hochberg across all series tested
  that day. Late reviews change later days' baselines too; those days are not tested again.
- **Rising phrases**: for each product with negative reviews in the week ending ``as_of``, the
  phrases of those reviews scored against the product's earlier reviews, with the store's
  negative reviews of the history window as the prior (rebuilt every run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Brand, Category, Event, EventType, Product
from recommend.insights.logic import sentiment as logic
from recommend.insights.models import (
    ReviewSentiment,
    SentimentDaily,
    SentimentPhrase,
    SentimentSource,
    SentimentSpike,
    SentimentState,
    SeriesLevel,
)

logger = logging.getLogger(__name__)

#: ``[(text, rating)] -> [(label, probability of the label, probability of negative)]``
Scorer = Callable[[Sequence[tuple[str, float | None]]], list[tuple[str, float, float]]]
Progress = Callable[[float, str], None]

NEGATIVE = "negative"
PHRASE_HISTORY_DAYS = 90


def rating_scorer(rows: Sequence[tuple[str, float | None]]) -> list[tuple[str, float, float]]:
    """The fallback when no sentiment model is active: the star rating as a proxy (a review
    without a rating counts as neutral)."""
    out = []
    for _text, rating in rows:
        if rating is not None and rating < 2.5:
            out.append((NEGATIVE, 1.0, 1.0))
        elif rating is not None and rating >= 3.5:
            out.append(("positive", 1.0, 0.0))
        else:
            out.append(("neutral", 1.0, 0.0))
    return out


@dataclass
class ScoreSettings:
    """One run's settings (the job's parameters)."""

    batch_size: int = 512
    spike: logic.SpikeSettings = field(default_factory=logic.SpikeSettings)
    as_of: date | None = None  # the last day of "this week" (default: today, UTC)
    rescore: bool = False
    phrase_min_negatives: int = 3


def review_events():
    """The review events ``score_reviews`` labels: type ``review`` with text."""
    return Event.objects.filter(type=EventType.REVIEW).exclude(review="")


def sentiment_state() -> SentimentState:
    state, _ = SentimentState.objects.get_or_create(pk=1)
    return state


def sentiment_reset() -> None:
    """Forget every label and what was built from them (the scorer changed)."""
    with transaction.atomic():
        for model in (SentimentPhrase, SentimentSpike, SentimentDaily, ReviewSentiment):
            model.objects.all().delete()
        SentimentState.objects.filter(pk=1).update(last_event_id=0, reviews_scored=0)


def reviews_score(
    *,
    scorer: Scorer,
    source: str,
    model_version_id: int | None,
    settings: ScoreSettings | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Label the review events past the watermark, recount their days, test those days for
    spikes and rebuild the week's rising phrases. ``progress(fraction, message)`` is called
    between batches (it may raise to cancel: what was committed stays, the watermark with it).
    Returns the run's figures (also kept on ``SentimentState.last_run``)."""
    settings = settings or ScoreSettings()
    progress = progress or (lambda _f, _m: None)
    now = timezone.now()
    as_of = settings.as_of or now.astimezone(UTC).date()
    state = sentiment_state()
    changed = state.last_event_id and (
        state.source != source or state.model_version_id != model_version_id
    )
    if settings.rescore or changed:
        sentiment_reset()
        state.refresh_from_db()
    pending = review_events().filter(pk__gt=state.last_event_id)
    total = pending.count()
    progress(0.0, f"{total} review(s) to score")
    days: set[date] = set()
    scored = 0
    last_id = state.last_event_id
    while True:
        batch = list(
            review_events()
            .filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "product_id", "review", "value", "timestamp")[: settings.batch_size]
        )
        if not batch:
            break
        labels = scorer([(text, value) for _pk, _p, text, value, _ts in batch])
        rows = [
            ReviewSentiment(
                event_id=pk,
                product_id=product_id,
                day=ts.astimezone(UTC).date(),
                label=label,
                score=round(float(p_label), 4),
                negative_score=round(float(p_negative), 4),
                source=source,
                model_version_id=model_version_id,
                scored_at=now,
            )
            for (pk, product_id, _text, _value, ts), (label, p_label, p_negative) in zip(
                batch, labels, strict=True
            )
        ]
        last_id = batch[-1][0]
        with transaction.atomic():
            ReviewSentiment.objects.bulk_create(rows, ignore_conflicts=True)
            SentimentState.objects.filter(pk=state.pk).update(
                last_event_id=last_id,
                source=source,
                model_version_id=model_version_id,
                reviews_scored=state.reviews_scored + scored + len(rows),
            )
        scored += len(rows)
        days.update(r.day for r in rows)
        progress(0.8 * scored / max(total, 1), f"scored {scored} of {total} reviews")
    progress(0.8, f"recounting {len(days)} day(s)")
    daily_recount(sorted(days))
    progress(0.85, "testing for spikes")
    found = spikes_detect(sorted(days), settings=settings.spike, now=now)
    progress(0.9, "finding rising negative phrases")
    phrases = phrases_rebuild(as_of=as_of, min_negatives=settings.phrase_min_negatives)
    figures = {
        "reviews_scored": scored,
        "days_recounted": len(days),
        "spikes": found,
        "phrases": phrases,
        "source": source,
        "model_version": model_version_id,
        "as_of": as_of.isoformat(),
        "rescored": bool(settings.rescore or changed),
    }
    SentimentState.objects.filter(pk=state.pk).update(
        source=source, model_version_id=model_version_id, last_run_at=now, last_run=figures
    )
    return figures


def daily_recount(days: Sequence[date]) -> int:
    """Rebuild the daily rows of ``days`` (every level) from the labels; rows written."""
    if not days:
        return 0
    daily, labels = SentimentDaily._meta.db_table, ReviewSentiment._meta.db_table
    product = Product._meta.db_table
    counts = "count(*), count(*) FILTER (WHERE r.label = 'negative')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {daily} WHERE day = ANY(%s)", [list(days)])
        cursor.execute(
            f"""
            INSERT INTO {daily} (level, key, day, reviews, negatives)
            SELECT 'store', 0, r.day, {counts} FROM {labels} r
             WHERE r.day = ANY(%(days)s) GROUP BY r.day
            UNION ALL
            SELECT 'product', r.product_id, r.day, {counts} FROM {labels} r
             WHERE r.day = ANY(%(days)s) AND r.product_id IS NOT NULL GROUP BY r.product_id, r.day
            UNION ALL
            SELECT 'brand', p.brand_id, r.day, {counts} FROM {labels} r JOIN {product} p
                ON p.id = r.product_id
             WHERE r.day = ANY(%(days)s) AND p.brand_id IS NOT NULL GROUP BY p.brand_id, r.day
            UNION ALL
            SELECT 'category', p.category_id, r.day, {counts} FROM {labels} r JOIN {product} p
                ON p.id = r.product_id
             WHERE r.day = ANY(%(days)s) AND p.category_id IS NOT NULL
             GROUP BY p.category_id, r.day
            """,
            {"days": list(days)},
        )
        return cursor.rowcount


def series_names(series: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """``(level, key) -> (alert subject, display name)``."""
    wanted: dict[str, set[int]] = {}
    for level, key in series:
        wanted.setdefault(level, set()).add(key)
    out: dict[tuple[str, int], tuple[str, str]] = {}
    for pk, ext, title in Product.objects.filter(pk__in=wanted.get("product", ())).values_list(
        "pk", "external_id", "title"
    ):
        out[("product", pk)] = (f"product:{ext}", title)
    for pk, name in Brand.objects.filter(pk__in=wanted.get("brand", ())).values_list("pk", "name"):
        out[("brand", pk)] = (f"brand:{name}", name)
    for pk, ext, name in Category.objects.filter(pk__in=wanted.get("category", ())).values_list(
        "pk", "external_id", "name"
    ):
        out[("category", pk)] = (f"category:{ext}", name)
    if 0 in wanted.get("store", ()):
        out[("store", 0)] = ("store", "whole store")
    return out


def spikes_detect(
    days: Sequence[date], *, settings: logic.SpikeSettings, now: datetime | None = None
) -> int:
    """Test ``days`` (each day's series against their trailing windows, BH per day) and
    replace those days' spike rows; returns the spikes found."""
    if not days:
        return 0
    now = now or timezone.now()
    start = min(days) - timedelta(days=settings.window_days)
    wanted = set(days)
    by_day: dict[date, list[logic.DayCount]] = {}
    rows = SentimentDaily.objects.filter(day__gte=start, day__lte=max(days)).values_list(
        "level", "key", "day", "reviews", "negatives"
    )
    counts = [logic.DayCount((level, key), day, n, k) for level, key, day, n, k in rows.iterator()]
    for day in wanted:
        low = day - timedelta(days=settings.window_days)
        by_day[day] = [c for c in counts if low <= c.day <= day]
    found: list[logic.SeriesTest] = []
    for day in sorted(wanted):
        found.extend(
            logic.spikes(
                logic.spike_tests(by_day[day], day=day, settings=settings), settings=settings
            )
        )
    names = series_names([t.series for t in found])
    with transaction.atomic():
        SentimentSpike.objects.filter(day__in=wanted).delete()
        SentimentSpike.objects.bulk_create(
            SentimentSpike(
                level=t.series[0],
                key=t.series[1],
                subject=names.get(t.series, (f"{t.series[0]}:{t.series[1]}", ""))[0][:200],
                name=names.get(t.series, ("", f"{t.series[0]} #{t.series[1]}"))[1][:300],
                day=t.day,
                reviews=t.reviews,
                negatives=t.negatives,
                baseline_reviews=t.baseline_reviews,
                baseline_share=round(t.baseline_share, 4),
                p_value=t.p_value,
                q_value=t.q_value,
                detected_at=now,
            )
            for t in found
        )
    return len(found)


def phrases_rebuild(*, as_of: date, min_negatives: int = 3, days: int = 7) -> int:
    """Rebuild the rising phrases of the products with at least ``min_negatives`` negative
    reviews in the ``days`` days ending ``as_of``; returns the phrases kept."""
    week_start = as_of - timedelta(days=days - 1)
    negatives = (
        ReviewSentiment.objects.filter(
            label=NEGATIVE, day__gte=week_start, day__lte=as_of, product__isnull=False
        )
        .values_list("product_id", "event__review")
        .order_by("product_id", "event_id")
    )
    recent: dict[int, list[str]] = {}
    for product_id, text in negatives.iterator():
        recent.setdefault(product_id, []).append(text)
    recent = {p: texts for p, texts in recent.items() if len(texts) >= min_negatives}
    earlier: dict[int, list[str]] = {p: [] for p in recent}
    history = ReviewSentiment.objects.filter(
        product_id__in=list(recent),
        day__lt=week_start,
        day__gte=week_start - timedelta(days=PHRASE_HISTORY_DAYS),
    ).values_list("product_id", "event__review")
    for product_id, text in history.iterator():
        earlier[product_id].append(text)
    # what the store's negative reviews usually say (the phrases' prior): the history window
    complaints = ReviewSentiment.objects.filter(
        label=NEGATIVE,
        day__lt=week_start,
        day__gte=week_start - timedelta(days=PHRASE_HISTORY_DAYS),
    ).values_list("event__review", flat=True)
    background = logic.review_phrase_counts(complaints.iterator()) if recent else None
    background_total = complaints.count() if recent else 0
    rows = []
    for product_id in sorted(recent):
        for phrase in logic.rising_phrases(
            recent[product_id],
            earlier[product_id],
            background=background,
            background_total=background_total,
        ):
            rows.append(
                SentimentPhrase(
                    product_id=product_id,
                    week_end=as_of,
                    phrase=phrase.phrase[:200],
                    recent=phrase.recent,
                    recent_total=len(recent[product_id]),
                    earlier=phrase.earlier,
                    earlier_total=len(earlier[product_id]),
                    score=phrase.score,
                )
            )
    with transaction.atomic():
        SentimentPhrase.objects.all().delete()
        SentimentPhrase.objects.bulk_create(rows)
    return len(rows)


__all__ = [
    "ScoreSettings",
    "Scorer",
    "SentimentSource",
    "SeriesLevel",
    "daily_recount",
    "phrases_rebuild",
    "rating_scorer",
    "reviews_score",
    "sentiment_reset",
    "spikes_detect",
]
