"""Reads for the dashboard, the analytics pages and the alerts: rollups only, never the raw
served log or events, and a fixed number of queries whatever the volume.

A time range is read to the hour: whole days from the daily rows, the partial days at its ends
from the hourly rows (:func:`spans`). ``now`` anchors windows (``overview(now, window)`` covers
``[ceil_hour(now) - window, ceil_hour(now))``, the current hour included).

Rates (documented in ``docs/analytics.md``):

- **searches**: served searches plus searches recorded only as events;
- **CTR / add-to-cart / purchase rate**: the share of searches with at least one attributed
  click / add-to-cart / purchase (a search with three clicks is one clicked search);
- **zero-result rate**: served searches with no result, per served search (the served log is
  the only place that knows the result count).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import F, Q, Sum

from recommend.analytics.logic.histogram import percentile
from recommend.analytics.models import (
    EventRollup,
    Granularity,
    LatencyRollup,
    PositionRollup,
    ProductDayRollup,
    QueryRollup,
    TrafficRollup,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SEARCH = "search"


def _floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: datetime) -> datetime:
    floored = _floor_hour(t)
    return floored if floored == t.astimezone(UTC) else floored + HOUR


def _floor_day(t: datetime) -> datetime:
    return _floor_hour(t).replace(hour=0)


def window_range(now: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """``[start, end)`` of the ``window`` that ends with the hour ``now`` falls in."""
    end = _floor_hour(now) + HOUR
    return end - window, end


def spans(start: datetime, end: datetime) -> Q:
    """Rollup rows covering ``[floor_hour(start), ceil_hour(end))``: daily rows for the whole
    days inside, hourly rows for the rest."""
    a, b = _floor_hour(start), _ceil_hour(end)
    first_day = _floor_day(a) if a == _floor_day(a) else _floor_day(a) + DAY
    last_day = _floor_day(b)
    if first_day >= last_day:
        return Q(granularity=Granularity.HOUR, start__gte=a, start__lt=b)
    q = Q(granularity=Granularity.DAY, start__gte=first_day, start__lt=last_day)
    if a < first_day:
        q |= Q(granularity=Granularity.HOUR, start__gte=a, start__lt=first_day)
    if last_day < b:
        q |= Q(granularity=Granularity.HOUR, start__gte=last_day, start__lt=b)
    return q


def _rate(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _search_rates(row: dict[str, Any]) -> dict[str, float]:
    searches = (row.get("requests") or 0) + (row.get("recorded_searches") or 0)
    return {
        "searches": searches,
        "ctr": _rate(row.get("requests_clicked") or 0, searches),
        "add_to_cart_rate": _rate(row.get("requests_carted") or 0, searches),
        "purchase_rate": _rate(row.get("requests_purchased") or 0, searches),
        "zero_result_rate": _rate(row.get("zero_results") or 0, row.get("requests") or 0),
    }


_TRAFFIC_SUMS = {
    name: Sum(name)
    for name in (
        "requests",
        "recorded_searches",
        "zero_results",
        "clicks",
        "add_to_carts",
        "purchases",
        "requests_clicked",
        "requests_carted",
        "requests_purchased",
    )
}


def overview(now: datetime, window: timedelta) -> dict[str, Any]:
    """The dashboard's tiles for the ``window`` ending now: searches, CTR, add-to-cart and
    purchase rates from search, zero-result rate, p50/p95 server latency (all endpoints),
    events ingested, requests per endpoint. Three queries."""
    start, end = window_range(now, window)
    where = spans(start, end)
    by_endpoint = {
        row["endpoint"]: row
        for row in TrafficRollup.objects.filter(where)
        .values("endpoint")
        .annotate(**_TRAFFIC_SUMS)
        .order_by("endpoint")
    }
    bins = dict(
        LatencyRollup.objects.filter(where, stage="total")
        .values_list("bin")
        .annotate(n=Sum("count"))
        .order_by("bin")
    )
    events = EventRollup.objects.filter(where).aggregate(n=Sum("count"))["n"] or 0
    rates = _search_rates(by_endpoint.get(SEARCH, {}))
    p50, p95 = percentile(bins, 0.5), percentile(bins, 0.95)
    return {
        **rates,
        "latency_p50_ms": round(p50, 2) if p50 is not None else None,
        "latency_p95_ms": round(p95, 2) if p95 is not None else None,
        "events_ingested": int(events),
        "requests_by_surface": {e: int(r["requests"] or 0) for e, r in by_endpoint.items()},
        "start": start,
        "end": end,
    }


SERIES_METRICS = (
    "searches",
    "ctr",
    "add_to_cart_rate",
    "purchase_rate",
    "zero_result_rate",
    "requests",
    "events",
    "latency_p50_ms",
    "latency_p95_ms",
)


def _buckets(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += step
    return out


def series(
    now: datetime, window: timedelta, metric: str, bucket: str = "hour"
) -> list[tuple[datetime, float | None]]:
    """``metric`` per hour or day over the ``window`` ending now, empty buckets included (a
    rate with nothing to divide is 0; a latency with no request is None). One query."""
    if metric not in SERIES_METRICS:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(SERIES_METRICS)}")
    if bucket not in (Granularity.HOUR, Granularity.DAY):
        raise ValueError("bucket must be 'hour' or 'day'")
    start, end = window_range(now, window)
    step = HOUR if bucket == Granularity.HOUR else DAY
    if bucket == Granularity.DAY:
        start, end = _floor_day(start), _floor_day(end - HOUR) + DAY
    where = Q(granularity=bucket, start__gte=start, start__lt=end)
    values: dict[datetime, float | None] = {}
    if metric.startswith("latency_"):
        per: dict[datetime, dict[int, int]] = defaultdict(dict)
        for at, b, n in (
            LatencyRollup.objects.filter(where, stage="total")
            .values_list("start", "bin")
            .annotate(n=Sum("count"))
            .order_by("start", "bin")
        ):
            per[at][b] = n
        q = 0.5 if metric == "latency_p50_ms" else 0.95
        values = {at: percentile(bins, q) for at, bins in per.items()}
        return [(t, values.get(t)) for t in _buckets(start, end, step)]
    if metric == "events":
        rows = EventRollup.objects.filter(where).values("start").annotate(v=Sum("count"))
        values = {r["start"]: float(r["v"]) for r in rows.order_by("start")}
    elif metric == "requests":
        rows = TrafficRollup.objects.filter(where).values("start").annotate(v=Sum("requests"))
        values = {r["start"]: float(r["v"]) for r in rows.order_by("start")}
    else:
        rows = (
            TrafficRollup.objects.filter(where, endpoint=SEARCH)
            .values("start")
            .annotate(**_TRAFFIC_SUMS)
            .order_by("start")
        )
        values = {r["start"]: float(_search_rates(r)[metric]) for r in rows}
    return [(t, values.get(t, 0.0)) for t in _buckets(start, end, step)]


_QUERY_SUMS = {
    name: Sum(name)
    for name in (
        "searches",
        "zero_results",
        "clicks",
        "positioned_clicks",
        "click_position_sum",
        "add_to_carts",
        "purchases",
        "searches_clicked",
        "searches_purchased",
    )
}
QUERY_ORDERS = {
    "searches": "-searches",
    "clicks": "-clicks",
    "zero_results": "-zero_results",
    "purchases": "-purchases",
}


def _query_row(row: dict[str, Any]) -> dict[str, Any]:
    searches = row["searches"] or 0
    return {
        "query": row["query"],
        "searches": int(searches),
        "clicks": int(row["clicks"] or 0),
        "add_to_carts": int(row["add_to_carts"] or 0),
        "purchases": int(row["purchases"] or 0),
        "zero_results": int(row["zero_results"] or 0),
        "ctr": _rate(row["searches_clicked"] or 0, searches),
        "conversion_rate": _rate(row["searches_purchased"] or 0, searches),
        "zero_result_share": _rate(row["zero_results"] or 0, searches),
        "average_click_position": (
            _rate(row["click_position_sum"] or 0, row["positioned_clicks"])
            if row["positioned_clicks"]
            else None
        ),
    }


def top_queries(
    start: datetime, end: datetime, limit: int = 50, order: str = "searches"
) -> list[dict[str, Any]]:
    """Queries by volume (or clicks, zero results, purchases): searches, CTR, conversion,
    zero-result share, average click position. One query."""
    if order not in QUERY_ORDERS:
        raise ValueError(f"order must be one of {', '.join(QUERY_ORDERS)}")
    rows = (
        QueryRollup.objects.filter(spans(start, end))
        .values("query")
        .annotate(**_QUERY_SUMS)
        .order_by(QUERY_ORDERS[order], "query")[:limit]
    )
    return [_query_row(r) for r in rows]


def problem_queries(
    start: datetime,
    end: datetime,
    kind: str = "zero",
    limit: int = 50,
    min_searches: int = 5,
) -> list[dict[str, Any]]:
    """``zero``: queries that found nothing, most often first; ``low_ctr``: queries searched
    at least ``min_searches`` times, lowest CTR first. Event-recorded searches count. One query."""
    qs = QueryRollup.objects.filter(spans(start, end)).values("query").annotate(**_QUERY_SUMS)
    if kind == "zero":
        qs = qs.filter(zero_results__gt=0).order_by("-zero_results", "-searches", "query")
    elif kind == "low_ctr":
        qs = (
            qs.filter(searches__gte=max(1, min_searches))
            .annotate(ctr=F("searches_clicked") * 1.0 / F("searches"))
            .order_by("ctr", "-searches", "query")
        )
    else:
        raise ValueError("kind must be 'zero' or 'low_ctr'")
    return [_query_row(r) for r in qs[:limit]]


def ctr_by_position(
    start: datetime, end: datetime, surface: str | None = None, max_position: int = 50
) -> list[dict[str, Any]]:
    """The position-bias curve: per result position, times shown, clicked and CTR (served
    requests only — only they record what was shown). ``surface``: one endpoint. One query."""
    qs = PositionRollup.objects.filter(spans(start, end), position__lte=max_position)
    if surface:
        qs = qs.filter(endpoint=surface)
    rows = qs.values("position").annotate(shown=Sum("shown"), clicked=Sum("clicked"))
    return [
        {
            "position": r["position"],
            "shown": int(r["shown"]),
            "clicked": int(r["clicked"]),
            "ctr": _rate(r["clicked"], r["shown"]),
        }
        for r in rows.order_by("position")
    ]


def ctr_by_surface(start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per endpoint: requests (served, plus event-recorded searches), attributed clicks, CTR
    (the share of requests with a click), add-to-carts and purchases. One query."""
    out = {}
    for row in (
        TrafficRollup.objects.filter(spans(start, end))
        .values("endpoint")
        .annotate(**_TRAFFIC_SUMS)
        .order_by("endpoint")
    ):
        requests = (row["requests"] or 0) + (row["recorded_searches"] or 0)
        out[row["endpoint"]] = {
            "requests": int(requests),
            "clicks": int(row["clicks"] or 0),
            "ctr": _rate(row["requests_clicked"] or 0, requests),
            "add_to_carts": int(row["add_to_carts"] or 0),
            "purchases": int(row["purchases"] or 0),
        }
    return out


def latency_series(
    start: datetime,
    end: datetime,
    endpoint: str | None = None,
    stage: str | None = None,
    bucket: str = "hour",
) -> list[dict[str, Any]]:
    """Per hour (or day): requests, p50 and p95 milliseconds of one endpoint (all by default)
    and one stage (``total`` by default; any ``Server-Timing`` stage). One query."""
    if bucket not in (Granularity.HOUR, Granularity.DAY):
        raise ValueError("bucket must be 'hour' or 'day'")
    a, b = _floor_hour(start), _ceil_hour(end)
    step = HOUR
    if bucket == Granularity.DAY:
        a, b, step = _floor_day(a), _floor_day(b - HOUR) + DAY, DAY
    qs = LatencyRollup.objects.filter(
        granularity=bucket, start__gte=a, start__lt=b, stage=stage or "total"
    )
    if endpoint:
        qs = qs.filter(endpoint=endpoint)
    per: dict[datetime, dict[int, int]] = defaultdict(dict)
    for at, bin_, n in (
        qs.values_list("start", "bin").annotate(n=Sum("count")).order_by("start", "bin")
    ):
        per[at][bin_] = n
    out = []
    for t in _buckets(a, b, step):
        bins = per.get(t, {})
        p50, p95 = percentile(bins, 0.5), percentile(bins, 0.95)
        out.append(
            {
                "start": t,
                "requests": int(sum(bins.values())),
                "p50_ms": round(p50, 2) if p50 is not None else None,
                "p95_ms": round(p95, 2) if p95 is not None else None,
            }
        )
    return out


def product_impressions(
    product_ids: Iterable[int], since: date | datetime
) -> dict[int, tuple[int, int]]:
    """``{product id: (impressions, clicks)}`` since ``since`` (a day; daily rows), products
    never shown included as ``(0, 0)``. One query."""
    ids = [int(pk) for pk in product_ids]
    day = since.astimezone(UTC).date() if isinstance(since, datetime) else since
    out = dict.fromkeys(ids, (0, 0))
    for pk, impressions, clicks in (
        ProductDayRollup.objects.filter(product_id__in=ids, day__gte=day)
        .values_list("product_id")
        .annotate(i=Sum("impressions"), c=Sum("clicks"))
        .order_by("product_id")
    ):
        out[pk] = (int(impressions), int(clicks))
    return out


def last_refresh() -> dict[str, Any] | None:
    """When the rollups were last refreshed and how many days that run recomputed."""
    from recommend.analytics.models import RollupState

    state = RollupState.objects.filter(name="main").values("finished_at", "buckets").first()
    return state


def latency_by_stage(
    start: datetime, end: datetime, endpoint: str | None = None
) -> list[dict[str, Any]]:
    """Per ``Server-Timing`` stage (``total`` first, then by name): requests that timed it, p50
    and p95 milliseconds over the range, of one endpoint (all by default). One query."""
    qs = LatencyRollup.objects.filter(spans(start, end))
    if endpoint:
        qs = qs.filter(endpoint=endpoint)
    per: dict[str, dict[int, int]] = defaultdict(dict)
    for stage, bin_, n in (
        qs.values_list("stage", "bin").annotate(n=Sum("count")).order_by("stage", "bin")
    ):
        per[stage][bin_] = n
    out = []
    for stage in sorted(per, key=lambda s: (s != "total", s)):
        bins = per[stage]
        p50, p95 = percentile(bins, 0.5), percentile(bins, 0.95)
        out.append(
            {
                "stage": stage,
                "requests": int(sum(bins.values())),
                "p50_ms": round(p50, 2) if p50 is not None else None,
                "p95_ms": round(p95, 2) if p95 is not None else None,
            }
        )
    return out
