"""Hourly and daily rollups of the served-request log and the events, maintained by beat.

Incremental: a run reads which days hold served requests or events stored since the last run
(ids above ``RollupState``'s marks; the current and previous hour always count as touched, for
rows that committed late) and recomputes those days whole — hourly rows from the raw rows, daily
rows from the hourly ones, product-days from the raw rows — after deleting what those days held.
Recomputing a day gives the same rows, so a re-run (or a run racing a crash) is harmless; a
PostgreSQL advisory lock keeps two runs from interleaving: a run that finds another one working
returns at once (``skipped``) instead of queueing behind it, so a slow first run on a large log
never piles beat's runs up on the worker. A day older than the served log's retention that was
rolled up already is never recomputed (``recommend.analytics.retention``): its rollups outlive
the served requests.

Attribution is the one rule of :mod:`recommend.analytics.logic.attribution`, written as SQL once
in :mod:`recommend.analytics.attribution_sql` (a test holds both to the same cases).

Rates are shares of requests, not events per request: beside the attributed clicks, add-to-carts
and purchases, the traffic and query rollups count the requests (searches) *with* at least one
of each — a served request once whatever the number of its events, an event-recorded search once
per session and query. A shopper who clicks three results of one search makes one clicked search,
so CTR stays a share between 0 and 1 (``_ENGAGED_SQL``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import EventType
from recommend.analytics import retention
from recommend.analytics.attribution_sql import (
    ENGAGEMENT_TYPES_SQL,
    EVENT_QUERY_SQL,
    attributed_events_sql,
)
from recommend.analytics.logic.histogram import BOUNDS_MS

logger = logging.getLogger(__name__)

STATE = "main"
LOCK_KEY = 0x616E616C  # "anal": pg_advisory_xact_lock key of the rollup run

#: Every click, add-to-cart and purchase in [%(a)s, %(b)s) with the request it belongs to (the
#: one rule, :func:`recommend.analytics.attribution_sql.attributed_events_sql`, event-recorded
#: search clicks included). Unattributed events have a NULL ``endpoint``.
ATTRIBUTED_SQL = attributed_events_sql(
    where=f"e.timestamp >= %(a)s AND e.timestamp < %(b)s AND e.type IN {ENGAGEMENT_TYPES_SQL}"
)

#: One row per request with attributed engagement in the range: its hour (that of its first
#: attributed event, as the event counts use event time), endpoint, query and whether it got a
#: click, an add-to-cart, a purchase. Served requests by request id; an event-recorded search
#: (rule 3: no request id) by the session and normalised query of its recorded click.
_ENGAGED_SQL = """
SELECT date_trunc('hour', min(timestamp)) AS h, endpoint, min(query) AS query,
       bool_or(type = 'click') AS clicked, bool_or(type = 'add_to_cart') AS carted,
       bool_or(type = 'purchase') AS purchased
  FROM _analytics_att WHERE kind = 'served' GROUP BY request_id, endpoint
UNION ALL
SELECT date_trunc('hour', min(a.timestamp)), 'search', a.query, bool_or(a.type = 'click'),
       bool_or(a.type = 'add_to_cart'), bool_or(a.type = 'purchase')
  FROM _analytics_att a JOIN catalog_event e ON e.id = a.id
 WHERE a.kind = 'recorded' GROUP BY e.session, a.query
"""

_BOUNDS = "ARRAY[" + ",".join(repr(b) for b in BOUNDS_MS) + "]::float8[]"

_HOURLY = [
    # traffic per endpoint
    """
    WITH served AS (
      SELECT date_trunc('hour', timestamp) AS h, endpoint, count(*) AS n,
             count(*) FILTER (WHERE result_count = 0) AS z
        FROM analytics_servedrequest WHERE timestamp >= %(a)s AND timestamp < %(b)s GROUP BY 1, 2
    ), recorded AS (
      SELECT date_trunc('hour', timestamp) AS h, 'search'::text AS endpoint, count(*) AS n
        FROM catalog_event
       WHERE type = 'search' AND request_id = '' AND timestamp >= %(a)s AND timestamp < %(b)s
       GROUP BY 1
    ), ev AS (
      SELECT date_trunc('hour', timestamp) AS h, endpoint,
             count(*) FILTER (WHERE type = 'click') AS c,
             count(*) FILTER (WHERE type = 'add_to_cart') AS ac,
             count(*) FILTER (WHERE type = 'purchase') AS p
        FROM _analytics_att WHERE endpoint IS NOT NULL GROUP BY 1, 2
    ), engaged AS (
      SELECT h, endpoint, count(*) FILTER (WHERE clicked) AS c,
             count(*) FILTER (WHERE carted) AS ac, count(*) FILTER (WHERE purchased) AS p
        FROM _analytics_engaged GROUP BY 1, 2
    ), k AS (SELECT h, endpoint FROM served UNION SELECT h, endpoint FROM recorded
             UNION SELECT h, endpoint FROM ev)
    INSERT INTO analytics_trafficrollup (granularity, start, endpoint, requests,
        recorded_searches, zero_results, clicks, add_to_carts, purchases, requests_clicked,
        requests_carted, requests_purchased)
    SELECT 'hour', k.h, k.endpoint, coalesce(served.n, 0), coalesce(recorded.n, 0),
           coalesce(served.z, 0), coalesce(ev.c, 0), coalesce(ev.ac, 0), coalesce(ev.p, 0),
           coalesce(engaged.c, 0), coalesce(engaged.ac, 0), coalesce(engaged.p, 0)
      FROM k LEFT JOIN served USING (h, endpoint) LEFT JOIN recorded USING (h, endpoint)
      LEFT JOIN ev USING (h, endpoint) LEFT JOIN engaged USING (h, endpoint)
    """,
    # latency histogram per endpoint and stage
    f"""
    INSERT INTO analytics_latencyrollup (granularity, start, endpoint, stage, bin, count)
    SELECT 'hour', h, endpoint, stage, width_bucket(ms, {_BOUNDS}), count(*)
      FROM (
        SELECT date_trunc('hour', s.timestamp) AS h, s.endpoint, 'total' AS stage,
               s.latency_ms AS ms
          FROM analytics_servedrequest s WHERE s.timestamp >= %(a)s AND s.timestamp < %(b)s
        UNION ALL
        SELECT date_trunc('hour', s.timestamp), s.endpoint, left(t.key, 32), t.value::float8
          FROM analytics_servedrequest s, jsonb_each_text(s.timings) t
         WHERE s.timestamp >= %(a)s AND s.timestamp < %(b)s AND t.key <> 'total'
      ) x
     GROUP BY 1, 2, 3, 4, 5
    """,
    # per normalised query
    f"""
    WITH searched AS (
      SELECT date_trunc('hour', timestamp) AS h, query, count(*) AS n,
             count(*) FILTER (WHERE result_count = 0) AS z
        FROM analytics_servedrequest
       WHERE endpoint = 'search' AND query <> '' AND timestamp >= %(a)s AND timestamp < %(b)s
       GROUP BY 1, 2
      UNION ALL
      SELECT date_trunc('hour', timestamp), {EVENT_QUERY_SQL.format(col="query")}, count(*), 0
        FROM catalog_event
       WHERE type = 'search' AND request_id = '' AND query <> ''
         AND timestamp >= %(a)s AND timestamp < %(b)s
       GROUP BY 1, 2
    ), s AS (SELECT h, query, sum(n) AS n, sum(z) AS z FROM searched GROUP BY 1, 2),
    ev AS (
      SELECT date_trunc('hour', timestamp) AS h, query,
             count(*) FILTER (WHERE type = 'click') AS c,
             count(*) FILTER (WHERE type = 'click' AND position IS NOT NULL) AS pc,
             coalesce(sum(position) FILTER (WHERE type = 'click'), 0) AS ps,
             count(*) FILTER (WHERE type = 'add_to_cart') AS ac,
             count(*) FILTER (WHERE type = 'purchase') AS p
        FROM _analytics_att WHERE endpoint = 'search' AND query <> '' GROUP BY 1, 2
    ), engaged AS (
      SELECT h, query, count(*) FILTER (WHERE clicked) AS c,
             count(*) FILTER (WHERE carted) AS ac, count(*) FILTER (WHERE purchased) AS p
        FROM _analytics_engaged WHERE endpoint = 'search' AND query <> '' GROUP BY 1, 2
    ), k AS (SELECT h, query FROM s UNION SELECT h, query FROM ev)
    INSERT INTO analytics_queryrollup (granularity, start, query, searches, zero_results, clicks,
        positioned_clicks, click_position_sum, add_to_carts, purchases, searches_clicked,
        searches_carted, searches_purchased)
    SELECT 'hour', k.h, left(k.query, 500), coalesce(s.n, 0), coalesce(s.z, 0), coalesce(ev.c, 0),
           coalesce(ev.pc, 0), coalesce(ev.ps, 0), coalesce(ev.ac, 0), coalesce(ev.p, 0),
           coalesce(engaged.c, 0), coalesce(engaged.ac, 0), coalesce(engaged.p, 0)
      FROM k LEFT JOIN s USING (h, query) LEFT JOIN ev USING (h, query)
      LEFT JOIN engaged USING (h, query)
    """,
    # per endpoint and position (served requests only: only they record what was shown)
    """
    WITH shown AS (
      SELECT date_trunc('hour', s.timestamp) AS h, s.endpoint, p.ord AS position, count(*) AS n
        FROM analytics_servedrequest s, unnest(s.shown) WITH ORDINALITY AS p(product, ord)
       WHERE s.timestamp >= %(a)s AND s.timestamp < %(b)s AND p.ord <= 1000
       GROUP BY 1, 2, 3
    ), clicked AS (
      SELECT date_trunc('hour', timestamp) AS h, endpoint, position, count(*) AS n
        FROM _analytics_att
       WHERE kind = 'served' AND type = 'click' AND position IS NOT NULL AND position <= 1000
       GROUP BY 1, 2, 3
    ), k AS (SELECT h, endpoint, position FROM shown UNION SELECT h, endpoint, position FROM clicked)
    INSERT INTO analytics_positionrollup (granularity, start, endpoint, position, shown, clicked)
    SELECT 'hour', k.h, k.endpoint, k.position, coalesce(shown.n, 0), coalesce(clicked.n, 0)
      FROM k LEFT JOIN shown USING (h, endpoint, position)
      LEFT JOIN clicked USING (h, endpoint, position)
    """,
    # events per type (the types listed so that the (type, timestamp) index serves the range:
    # catalog_event has no index on timestamp alone)
    f"""
    INSERT INTO analytics_eventrollup (granularity, start, type, count)
    SELECT 'hour', date_trunc('hour', timestamp), type, count(*)
      FROM catalog_event
     WHERE type IN ({", ".join(f"'{t}'" for t in EventType.values)})
       AND timestamp >= %(a)s AND timestamp < %(b)s
     GROUP BY 2, 3
    """,
    # per product and day (impressions in served requests, clicks attributed to them)
    """
    WITH imp AS (
      SELECT date_trunc('day', s.timestamp)::date AS day, p.product AS product_id, count(*) AS n
        FROM analytics_servedrequest s, unnest(s.shown) AS p(product)
       WHERE s.timestamp >= %(a)s AND s.timestamp < %(b)s AND p.product > 0 GROUP BY 1, 2
    ), clk AS (
      SELECT date_trunc('day', timestamp)::date AS day, product_id, count(*) AS n
        FROM _analytics_att WHERE kind = 'served' AND type = 'click' GROUP BY 1, 2
    ), k AS (SELECT day, product_id FROM imp UNION SELECT day, product_id FROM clk)
    INSERT INTO analytics_productdayrollup (day, product_id, impressions, clicks)
    SELECT k.day, k.product_id, coalesce(imp.n, 0), coalesce(clk.n, 0)
      FROM k LEFT JOIN imp USING (day, product_id) LEFT JOIN clk USING (day, product_id)
    """,
]

#: Daily rows are the sums of the day's hourly rows: (table, key columns, summed columns).
_DAILY = [
    (
        "analytics_trafficrollup",
        ["endpoint"],
        [
            "requests",
            "recorded_searches",
            "zero_results",
            "clicks",
            "add_to_carts",
            "purchases",
            "requests_clicked",
            "requests_carted",
            "requests_purchased",
        ],
    ),
    ("analytics_latencyrollup", ["endpoint", "stage", "bin"], ["count"]),
    (
        "analytics_queryrollup",
        ["query"],
        [
            "searches",
            "zero_results",
            "clicks",
            "positioned_clicks",
            "click_position_sum",
            "add_to_carts",
            "purchases",
            "searches_clicked",
            "searches_carted",
            "searches_purchased",
        ],
    ),
    ("analytics_positionrollup", ["endpoint", "position"], ["shown", "clicked"]),
    ("analytics_eventrollup", ["type"], ["count"]),
]
_BUCKETED = [table for table, _keys, _sums in _DAILY]


@dataclass(frozen=True)
class RefreshResult:
    """What one run recomputed: the day ranges, how many days, and how long it took."""

    ranges: list[tuple[datetime, datetime]]
    days: int
    seconds: float
    skipped: bool = False  # another run held the lock


def _floor_day(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def _ranges(days: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive days merged into [start, end) ranges."""
    out: list[tuple[datetime, datetime]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] == day:
            out[-1] = (out[-1][0], day + timedelta(days=1))
        else:
            out.append((day, day + timedelta(days=1)))
    return out


def _touched_days(cursor, state, now: datetime, full: bool) -> tuple[list[datetime], int, int]:
    cursor.execute("SELECT coalesce(max(id), 0) FROM analytics_servedrequest")
    served_max = cursor.fetchone()[0]
    cursor.execute("SELECT coalesce(max(id), 0) FROM catalog_event")
    event_max = cursor.fetchone()[0]
    if full:
        cursor.execute(
            "SELECT min(t), max(t) FROM (SELECT min(timestamp) t FROM analytics_servedrequest"
            " UNION ALL SELECT max(timestamp) FROM analytics_servedrequest"
            " UNION ALL SELECT min(timestamp) FROM catalog_event"
            " UNION ALL SELECT max(timestamp) FROM catalog_event) x"
        )
        first, last = cursor.fetchone()
        days = []
        if first is not None:
            day = _floor_day(first)
            while day <= last:
                days.append(day)
                day += timedelta(days=1)
        return days, served_max, event_max
    # a served request's attribution window reaches 30 minutes past it: its next day too
    # when it was served in the last half hour of a day
    cursor.execute(
        "SELECT DISTINCT date_trunc('day', t) FROM ("
        " SELECT timestamp AS t FROM analytics_servedrequest WHERE id > %(s)s AND id <= %(sm)s"
        " UNION ALL SELECT timestamp + interval '30 minutes' FROM analytics_servedrequest"
        "  WHERE id > %(s)s AND id <= %(sm)s"
        " UNION ALL SELECT timestamp FROM catalog_event WHERE id > %(e)s AND id <= %(em)s) x",
        {"s": state.served_id, "sm": served_max, "e": state.event_id, "em": event_max},
    )
    days = [d.astimezone(UTC) for (d,) in cursor.fetchall()]
    days += [_floor_day(now), _floor_day(now - timedelta(hours=1))]
    return days, served_max, event_max


def _without_frozen(cursor, days: list[datetime], cutoff: datetime | None) -> list[datetime]:
    """``days`` less those older than the served log's retention ``cutoff`` that were rolled up
    already: their served requests are (partly) gone, so recomputing them would lose figures.
    An old day never rolled up (history imported since) is still computed from what is left."""
    old = sorted({d for d in days if cutoff is not None and d < cutoff})
    if not old:
        return days
    cursor.execute(
        "SELECT start FROM analytics_trafficrollup WHERE granularity = 'day' AND start = ANY(%s)"
        " UNION SELECT start FROM analytics_eventrollup WHERE granularity = 'day'"
        " AND start = ANY(%s)",
        [old, old],
    )
    frozen = {d.astimezone(UTC) for (d,) in cursor.fetchall()}
    return [d for d in days if d not in frozen]


def _recompute(cursor, a: datetime, b: datetime) -> None:
    params = {"a": a, "b": b}
    cursor.execute("DROP TABLE IF EXISTS _analytics_att")
    cursor.execute(f"CREATE TEMP TABLE _analytics_att ON COMMIT DROP AS {ATTRIBUTED_SQL}", params)
    cursor.execute("DROP TABLE IF EXISTS _analytics_engaged")
    cursor.execute(f"CREATE TEMP TABLE _analytics_engaged ON COMMIT DROP AS {_ENGAGED_SQL}")
    for table in _BUCKETED:
        cursor.execute(  # granularity first: the unique index's leading column
            f"DELETE FROM {table} WHERE granularity IN ('hour', 'day')"
            " AND start >= %(a)s AND start < %(b)s",
            params,
        )
    cursor.execute(
        "DELETE FROM analytics_productdayrollup WHERE day >= %(a)s::date AND day < %(b)s::date",
        params,
    )
    for statement in _HOURLY:
        cursor.execute(statement, params)
    for table, keys, sums in _DAILY:
        key_list = ", ".join(keys)
        cursor.execute(
            f"INSERT INTO {table} (granularity, start, {key_list}, {', '.join(sums)}) "
            f"SELECT 'day', date_trunc('day', start), {key_list}, "
            f"{', '.join(f'sum({c})' for c in sums)} FROM {table} "
            f"WHERE granularity = 'hour' AND start >= %(a)s AND start < %(b)s "
            f"GROUP BY date_trunc('day', start), {key_list}",
            params,
        )
    cursor.execute("DROP TABLE _analytics_engaged")
    cursor.execute("DROP TABLE _analytics_att")


def refresh(*, now: datetime | None = None, full: bool = False) -> RefreshResult:
    """Recompute the rollups of every day touched since the last run (``full``: of every day
    that holds served requests or events). Idempotent."""
    from recommend.analytics.models import RollupState

    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            logger.info("analytics rollups: another run is working; skipped")
            return RefreshResult(ranges=[], days=0, seconds=0.0, skipped=True)
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        state, _ = RollupState.objects.select_for_update().get_or_create(name=STATE)
        days, served_max, event_max = _touched_days(cursor, state, now, full)
        days = _without_frozen(cursor, days, retention.recompute_cutoff(now))
        ranges = _ranges(days)
        for a, b in ranges:
            _recompute(cursor, a, b)
        state.served_id, state.event_id = served_max, event_max
        state.finished_at = timezone.now()
        state.buckets = len(set(days))
        state.save()
    result = RefreshResult(
        ranges=ranges, days=len(set(days)), seconds=round(time.monotonic() - started, 3)
    )
    logger.info("analytics rollups: %d days recomputed in %.2f s", result.days, result.seconds)
    return result
