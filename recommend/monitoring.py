"""Serving's alert rules: the zero-result rate and the p95 latency of searches.

Both read :func:`search_window`, the one function that says where the figures of a window come
from (today ``catalog.SearchLog``; the analytics rollups can take its place without touching
the rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from platform_core import alerts


@dataclass(frozen=True)
class SearchWindow:
    """Searches served in a window, those that found nothing, and their p95 latency."""

    searches: int
    zero_results: int
    p95_latency_ms: float | None

    @property
    def zero_result_percent(self) -> float:
        return 100.0 * self.zero_results / self.searches if self.searches else 0.0


def search_window(*, now: datetime, window: timedelta) -> SearchWindow:
    """The searches logged in ``[now - window, now)``: one indexed scan of the search log."""
    from catalog.models import SearchLog

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE result_count = 0), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            f"FROM {SearchLog._meta.db_table} WHERE timestamp >= %s AND timestamp < %s",
            [now - window, now],
        )
        searches, zero, p95 = cursor.fetchone()
    return SearchWindow(int(searches), int(zero), None if p95 is None else float(p95))


_last_window: dict[tuple[datetime, timedelta], SearchWindow] = {}


def _window(now: datetime, window: timedelta) -> SearchWindow:
    """One read per evaluation run: both rules get the same ``now`` and window."""
    key = (now, window)
    stats = _last_window.get(key)
    if stats is None:
        stats = search_window(now=now, window=window)
        _last_window.clear()
        _last_window[key] = stats
    return stats


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def zero_result_findings(*, now: datetime, window: timedelta) -> list[alerts.Finding]:
    stats = _window(now, window)
    if stats.searches < settings.ALERT_MIN_SEARCHES:
        return []
    return [
        (
            "",
            round(stats.zero_result_percent, 2),
            f"{stats.zero_results} of {stats.searches} searches in the last {_hours(window)} "
            f"found nothing ({stats.zero_result_percent:.1f}%). See the zero-result report: a "
            "synonym or a missing product usually fixes the top queries.",
        )
    ]


def latency_findings(*, now: datetime, window: timedelta) -> list[alerts.Finding]:
    stats = _window(now, window)
    if stats.searches < settings.ALERT_MIN_SEARCHES or stats.p95_latency_ms is None:
        return []
    return [
        (
            "",
            round(stats.p95_latency_ms, 1),
            f"The p95 server latency of {stats.searches} searches in the last {_hours(window)} "
            f"was {stats.p95_latency_ms:.0f} ms.",
        )
    ]


def register() -> None:
    volume = f"sum(increase(aisle_searches_total[1h])) >= {settings.ALERT_MIN_SEARCHES}"
    alerts.register_rule(
        "search_zero_results",
        title="Zero-result rate of searches",
        evaluate=zero_result_findings,
        default_threshold=10.0,
        comparison=">",
        unit="%",
        description="Share of the last hour's searches that found nothing (once at least "
        "ALERT_MIN_SEARCHES were served).",
        promql='(100 * sum(increase(aisle_searches_total{outcome="zero_results"}[1h])) / '
        f"sum(increase(aisle_searches_total[1h]))) and on() ({volume})",
    )
    alerts.register_rule(
        "search_latency_p95",
        title="p95 search latency",
        evaluate=latency_findings,
        default_threshold=250.0,
        comparison=">",
        unit="ms",
        description="95th percentile of the server time of the last hour's searches.",
        promql="(1000 * histogram_quantile(0.95, sum by (le) (rate("
        'aisle_serving_stage_duration_seconds_bucket{endpoint="/api/v1/search",stage="total"}[1h]'
        f")))) and on() ({volume})",
    )
