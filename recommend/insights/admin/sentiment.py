"""Insights → Review sentiment: three admin pages read from the sentiment tables the
``score_reviews`` job keeps (``selectors.sentiment``; never the events table).

- **Sentiment over time**: share negative and volume per day of the store, a product, a brand
  or a category, with the series of that level to pick from.
- **Most negative this week**: products (or brands, categories) by the rise of their negative
  share this week over their own baseline, and the spikes detected in the last 30 days.
- **Rising negative phrases**: the phrases of this week's negative reviews that rise against
  each product's earlier reviews.

Every page says which scorer labelled the reviews: the active sentiment model, or the star
rating standing in when no model is active. Who sees them: whoever may view review sentiment
(analysts and operators).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from platform_core.admin_site import pages
from recommend.analytics.logic.charts import bars_svg
from recommend.insights.models import SeriesLevel
from recommend.insights.selectors import sentiment as selectors

VIEW_PERMISSION = "insights.view_reviewsentiment"
LEVELS = [(level.value, level.label) for level in SeriesLevel]
SPAN_DAYS = {"30": 30, "90": 90, "365": 365}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _scorer(state) -> dict[str, Any]:
    if state is None or not state.source:
        return {"scorer": "", "never_run": True}
    if state.source == "model" and state.model_version_id:
        version = state.model_version
        name = f"#{version.pk} {version.name}" if version else f"#{state.model_version_id}"
        return {"scorer": f"sentiment model version {name}", "fallback": False}
    return {"scorer": "the star rating", "fallback": True}


def _trend(request, today) -> dict[str, Any]:
    level = request.GET.get("level", SeriesLevel.STORE)
    if level not in SeriesLevel.values:
        level = SeriesLevel.STORE
    span = SPAN_DAYS.get(request.GET.get("span", "30"), 30)
    key = 0 if level == SeriesLevel.STORE else _int(request.GET.get("key"), 0)
    choices = (
        []
        if level == SeriesLevel.STORE
        else selectors.week_vs_baseline(
            level=level, end=today, min_reviews=1, limit=30, order="volume"
        )
    )
    if level != SeriesLevel.STORE and not key and choices:
        key = choices[0].key
    points = selectors.series_points(
        level=level, key=key, start=today - timedelta(days=span - 1), end=today
    )
    chart = bars_svg(
        [(f"{day:%Y-%m-%d} ({k}/{n})", k / n if n else 0.0) for day, n, k in points],
        title="Share of negative reviews per day",
    )
    return {
        "level": level,
        "key": key,
        "span": span,
        "spans": list(SPAN_DAYS),
        "levels": LEVELS,
        "series": selectors.series_name(level, key) if (key or level == SeriesLevel.STORE) else "",
        "choices": [
            (
                c.key,
                c.name,
                c.reviews,
                _pct(c.share),
                f"?{urlencode({'level': level, 'key': c.key})}",
            )
            for c in choices
        ],
        "chart": mark_safe(chart),  # built from numbers and escaped labels (charts.bars_svg)
        "rows": [
            (f"{day:%Y-%m-%d}", n, k, _pct(k / n) if n else "—") for day, n, k in reversed(points)
        ],
    }


def _worst(request, today) -> dict[str, Any]:
    level = request.GET.get("level", SeriesLevel.PRODUCT)
    if level not in SeriesLevel.values or level == SeriesLevel.STORE:
        level = SeriesLevel.PRODUCT
    min_reviews = max(1, _int(request.GET.get("min"), 3))
    weeks = selectors.week_vs_baseline(level=level, end=today, min_reviews=min_reviews, limit=50)
    trend = reverse("admin:insights_sentiment_trend")
    return {
        "level": level,
        "levels": [lv for lv in LEVELS if lv[0] != SeriesLevel.STORE],
        "min_reviews": min_reviews,
        "rows": [
            (
                w.name,
                f"{trend}?{urlencode({'level': level, 'key': w.key})}",
                w.reviews,
                w.negatives,
                _pct(w.share),
                _pct(w.baseline_share),
                w.baseline_reviews,
                "—" if w.lift is None else f"{w.lift:+.0%}",
            )
            for w in weeks
        ],
        "spikes": [
            (
                f"{s.day:%Y-%m-%d}",
                s.get_level_display(),
                s.name,
                f"{trend}?{urlencode({'level': s.level, 'key': s.key})}",
                f"{s.negatives}/{s.reviews}",
                _pct(s.share),
                _pct(s.baseline_share),
                f"{s.p_value:.2g}",
                f"{s.q_value:.2g}",
            )
            for s in selectors.recent_spikes(since=today - timedelta(days=29))
        ],
    }


def _phrases(request, today) -> dict[str, Any]:
    trend = reverse("admin:insights_sentiment_trend")
    return {
        "rows": [
            (
                p.product.title,
                f"{trend}?{urlencode({'level': 'product', 'key': p.product_id})}",
                p.phrase,
                f"{p.recent} of {p.recent_total}",
                f"{p.earlier} of {p.earlier_total}",
                f"{p.score:.1f}",
                f"{p.week_end:%Y-%m-%d}",
            )
            for p in selectors.rising_phrases()
        ]
    }


def _render(request, *, slug: str, title: str, build: Callable) -> TemplateResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    state = selectors.sentiment_state()
    today = selectors.latest_day() or timezone.now().date()
    context = {
        **admin.site.each_context(request),
        "title": title,
        "slug": slug,
        "today": today,
        "week_start": today - timedelta(days=6),
        "state": state,
        **_scorer(state),
        "nav": [(p.title, reverse(f"admin:{p.name}"), p.slug == slug) for p in _PAGES],
        **build(request, today),
    }
    return TemplateResponse(request, f"admin/insights/sentiment_{slug}.html", context)


_PAGES = pages.register_family(
    prefix="insights/sentiment",
    name_prefix="insights_sentiment",
    group="insights",
    permission=VIEW_PERMISSION,
    render=_render,
    specs=(
        ("trend", "Review sentiment over time", _trend),
        ("worst", "Most negative products this week", _worst),
        ("phrases", "Rising negative phrases", _phrases),
    ),
)
