"""Dashboard reads from rollups, next to the same figures computed from the raw tables.

    .venv/bin/python bench/analytics_rollups.py [--events 5000000] [--days 60] [--repeat 5]

Runs against a database of its own (``aisle_bench_analytics`` on the same PostgreSQL server; created and
migrated on first use, its catalog emptied before each run), so the development data is never
touched. Plants, with COPY, a store whose shoppers browse in sessions: a served search (a
``ServedRequest`` row showing 10 products) or a served recommendation list, then clicks (half
of them carrying the request id), add-to-carts and purchases, views and event-recorded searches
— ``--events`` events in all over ``--days`` days ending now. Then measures:

* ``refresh full``   — the first rollup run over every day;
* ``refresh incr``   — a beat run after 1,000 new events (what every minute costs);
* ``overview 24h/7d/30d`` and ``top_queries 30d`` — ``recommend.analytics.selectors``, median
  of ``--repeat`` runs, reading rollups;
* the same figures from the raw tables (attribution query over the window, grouping by query):
  what a page would cost without rollups (the baseline);
* the admin home and each search analytics page (Insights) as a whole request through Django's
  test client, signed in as a superuser (view, selectors, template): median of ``--repeat``
  GETs after one warm-up, for the 24 h and 30 d ranges (the issue's budget: 300 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._bulk import SERVED_REQUEST_COLUMNS, copy_rows, plain_catalog  # noqa: E402
from bench._serving import bench_database_url  # noqa: E402

BENCH_DB = "aisle_bench_analytics"
WORDS = [
    "red",
    "blue",
    "running",
    "shoes",
    "wireless",
    "earbuds",
    "coffee",
    "grinder",
    "tent",
    "linen",
    "shirt",
    "kettle",
    "lamp",
    "desk",
    "chair",
    "wool",
    "socks",
    "rain",
    "jacket",
    "yoga",
    "mat",
    "phone",
    "case",
]


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _plant(n_events: int, days: int, n_products: int, n_shoppers: int, log) -> None:
    from django.db import connection, transaction

    from catalog.services.demo import catalog_truncate

    rng = random.Random(5)
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    queries = [f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(3000)]
    with transaction.atomic(), connection.cursor() as cursor:
        catalog_truncate()
        cursor.execute(
            "TRUNCATE analytics_servedrequest, analytics_trafficrollup, analytics_latencyrollup,"
            " analytics_queryrollup, analytics_positionrollup, analytics_eventrollup,"
            " analytics_productdayrollup, analytics_rollupstate"
        )
        now = datetime.now(UTC)
        first_product, first_shopper = plain_catalog(
            cursor, products=n_products, shoppers=n_shoppers, now=now
        )

        served: list[tuple] = []
        events: list[tuple] = []
        made = 0
        session = 0
        while made < n_events:
            session += 1
            shopper = first_shopper + rng.randrange(n_shoppers)
            t = start + timedelta(seconds=rng.uniform(0, span - 3600))
            sid = f"b{session}"
            for step in range(rng.randint(1, 3)):
                t += timedelta(seconds=rng.uniform(5, 300))
                rid = f"r{session}-{step}"
                shown = [first_product + rng.randrange(n_products) for _ in range(10)]
                search = rng.random() < 0.6
                query = rng.choice(queries) if search else ""
                latency = rng.lognormvariate(2.5, 0.5)
                zero = search and rng.random() < 0.05
                served.append(
                    (
                        rid,
                        "search" if search else "recommendations",
                        "search" if search else "recommendations",
                        "default",
                        "",
                        shopper,
                        sid,
                        query,
                        "{}" if zero else "{" + ",".join(map(str, shown)) + "}",
                        0 if zero else 10,
                        latency,
                        f'{{"total": {latency:.3f}, "lexical": {latency / 3:.3f}}}',
                        False,
                        t,
                    )
                )
                if rng.random() < 0.3:  # the storefront also records some searches as events
                    events.append((shopper, None, "search", query, None, sid, "", t))
                for _ in range(rng.randint(1, 4)):
                    events.append((shopper, rng.choice(shown), "view", "", None, sid, "", t))
                if not zero and rng.random() < 0.4:
                    pos = min(9, int(rng.expovariate(0.5)))
                    ct = t + timedelta(seconds=rng.uniform(2, 60))
                    carried = rid if rng.random() < 0.5 else ""
                    events.append((shopper, shown[pos], "click", "", pos + 1, sid, carried, ct))
                    if rng.random() < 0.3:
                        at = ct + timedelta(seconds=rng.uniform(10, 600))
                        events.append((shopper, shown[pos], "add_to_cart", "", None, sid, "", at))
                        if rng.random() < 0.4:
                            pt = at + timedelta(seconds=rng.uniform(10, 600))
                            events.append((shopper, shown[pos], "purchase", "", None, sid, "", pt))
            made = len(events)
        events = events[:n_events]
        log(f"planting {len(served)} served requests and {len(events)} events")
        copy_rows(
            cursor,
            "analytics_servedrequest",
            SERVED_REQUEST_COLUMNS,
            served,
        )
        copy_rows(
            cursor,
            "catalog_event",
            [
                "event_id",
                "shopper_id",
                "product_id",
                "type",
                "query",
                "position",
                "session",
                "request_id",
                "timestamp",
                "received_at",
                "review",
            ],
            ((f"b{n}", *row[:7], row[7], now, "") for n, row in enumerate(events)),
        )
        cursor.execute("ANALYZE catalog_event")
        cursor.execute("ANALYZE analytics_servedrequest")


RAW_OVERVIEW_SQL = """
WITH att AS ({attributed})
SELECT
  (SELECT count(*) FROM analytics_servedrequest WHERE endpoint = 'search'
      AND timestamp >= %(a)s AND timestamp < %(b)s)
  + (SELECT count(*) FROM catalog_event WHERE type = 'search' AND request_id = ''
      AND timestamp >= %(a)s AND timestamp < %(b)s) AS searches,
  (SELECT count(*) FROM att WHERE endpoint = 'search' AND type = 'click') AS clicks,
  (SELECT count(*) FROM att WHERE endpoint = 'search' AND type = 'add_to_cart') AS carts,
  (SELECT count(*) FROM att WHERE endpoint = 'search' AND type = 'purchase') AS purchases,
  (SELECT count(*) FILTER (WHERE result_count = 0) FROM analytics_servedrequest
      WHERE endpoint = 'search' AND timestamp >= %(a)s AND timestamp < %(b)s) AS zero,
  (SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms)
      FROM analytics_servedrequest WHERE timestamp >= %(a)s AND timestamp < %(b)s) AS latency,
  (SELECT count(*) FROM catalog_event WHERE timestamp >= %(a)s AND timestamp < %(b)s) AS events
"""

RAW_TOP_QUERIES_SQL = """
WITH att AS ({attributed}),
s AS (
  SELECT query, count(*) AS n FROM analytics_servedrequest
   WHERE endpoint = 'search' AND query <> '' AND timestamp >= %(a)s AND timestamp < %(b)s
   GROUP BY 1
  UNION ALL
  SELECT lower(regexp_replace(btrim(query), '\\s+', ' ', 'g')), count(*) FROM catalog_event
   WHERE type = 'search' AND request_id = '' AND query <> ''
     AND timestamp >= %(a)s AND timestamp < %(b)s GROUP BY 1
), c AS (SELECT query, count(*) FILTER (WHERE type = 'click') AS clicks FROM att
          WHERE endpoint = 'search' GROUP BY 1)
SELECT s.query, sum(s.n) AS searches, max(c.clicks) AS clicks
  FROM s LEFT JOIN c USING (query) GROUP BY s.query ORDER BY searches DESC, s.query LIMIT 50
"""


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# the admin pages timed as whole requests: (label, URL name, query string)
PAGES = (
    ("admin home", "admin:index", ""),
    *(
        (f"{slug} {rng}", f"admin:analytics_search_{slug}", f"range={rng}")
        for slug in ("queries", "problems", "positions", "latency")
        for rng in ("24h", "30d")
    ),
)


def _time_pages(repeat: int) -> list[tuple[str, float, int]]:
    """``(label, median ms, status)`` of each page in ``PAGES`` through the test client."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # the test client's host is allowed; templates render the same
    user, _ = get_user_model().objects.get_or_create(
        username="bench-analytics", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    out = []
    for label, name, query in PAGES:
        url = reverse(name) + (f"?{query}" if query else "")
        status = client.get(url).status_code  # warm-up (template loading, first connection)
        out.append((label, _median_ms(lambda u=url: client.get(u), repeat), status))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--shoppers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-plant", action="store_true", help="Reuse the planted data.")
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    _setup_django()
    from django.db import connection

    from recommend.analytics import rollups, selectors

    if not args.skip_plant:
        started = time.perf_counter()
        _plant(args.events, args.days, args.products, args.shoppers, log)
        log(f"planted in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    result = rollups.refresh(full=True)
    full_s = time.perf_counter() - started
    log(f"refresh full: {result.days} days in {full_s:.1f} s")

    with connection.cursor() as cursor:  # 1,000 new events, then the beat's incremental run
        cursor.execute(
            "INSERT INTO catalog_event (event_id, shopper_id, product_id, type, query, position,"
            " session, request_id, timestamp, received_at, review)"
            " SELECT 'inc-' || id || '-' || extract(epoch FROM now())::bigint, shopper_id,"
            " product_id, type, '', NULL, session, '', now(), now(), ''"
            " FROM catalog_event WHERE type = 'view' LIMIT 1000"
        )
    started = time.perf_counter()
    incremental = rollups.refresh()
    incr_s = time.perf_counter() - started
    log(f"refresh incremental: {incremental.days} day(s) in {incr_s:.2f} s")

    now = datetime.now(UTC)
    rows = []
    for label, window in (
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
    ):
        a, b = selectors.window_range(now, window)
        fast = _median_ms(lambda w=window: selectors.overview(now, w), args.repeat)

        def raw(a=a, b=b):
            with connection.cursor() as cursor:
                cursor.execute(
                    RAW_OVERVIEW_SQL.format(attributed=rollups.ATTRIBUTED_SQL), {"a": a, "b": b}
                )
                return cursor.fetchone()

        slow = _median_ms(raw, max(1, args.repeat // 2))
        rows.append((f"overview {label}", fast, slow))
    a, b = now - timedelta(days=30), now
    fast = _median_ms(lambda: selectors.top_queries(a, b, limit=50), args.repeat)

    def raw_top():
        with connection.cursor() as cursor:
            cursor.execute(
                RAW_TOP_QUERIES_SQL.format(attributed=rollups.ATTRIBUTED_SQL), {"a": a, "b": b}
            )
            return cursor.fetchall()

    slow = _median_ms(raw_top, max(1, args.repeat // 2))
    rows.append(("top_queries 30d", fast, slow))
    print()
    print(
        f"{args.events:,} events, {args.days} days; refresh full {full_s:.1f} s, "
        f"incremental (1,000 new events) {incr_s:.2f} s"
    )
    print(f"{'read':<18}{'rollups ms':>12}{'raw scan ms':>14}{'speed-up':>10}")
    for label, fast, slow in rows:
        print(f"{label:<18}{fast:>12.1f}{slow:>14.1f}{slow / fast:>9.0f}x")
    print()
    print(f"{'page (whole GET)':<22}{'median ms':>10}{'status':>8}")
    for label, ms, status in _time_pages(args.repeat):
        print(f"{label:<22}{ms:>10.1f}{status:>8}")


if __name__ == "__main__":
    main()
