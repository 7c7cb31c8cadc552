"""Review-sentiment pages at the demo store's size with 1M events, and the job that feeds them.

    .venv/bin/python bench/insights_sentiment.py [--events 1000000] [--review-share 0.05]
                                                [--days 60] [--repeat 5]

Runs against a database of its own (``aisle_bench_sentiment`` on the same PostgreSQL server;
created and migrated on first use, its catalog emptied before each run), so the development data
is never touched. Plants with COPY the demo store's size (5,000 products in 40 categories and
200 brands, 2,000 shoppers) and ``--events`` events over ``--days`` days ending now, of which
``--review-share`` are reviews with a rating and a text (the demo store has about 0.5 %; 5 % is
ten times harder), plus a planted spike (one product, 30 one-star reviews yesterday). Measures:

* ``score_reviews full`` — the first run with the rating proxy (no model: scoring costs nothing,
  so this is the cost of reading the reviews and building the tables), then ``incr`` after
  1,000 new reviews (what a beat run costs);
* each Insights → Review sentiment page as a whole request through Django's test client, signed
  in as a superuser (view, selectors, template): median of ``--repeat`` GETs after a warm-up
  (the issue's budget: 300 ms), median and p95, the median CPU time of this process per GET
  (Django's side alone: less sensitive to a shared box than the wall time) and the 1-minute load
  average when timed;
* the admin home in the same run, as the reference of what any admin page costs on this
  machine at that moment (the box is shared: compare the pages with it);
* the baseline: "most negative products this week vs their baseline" computed from the raw
  events table (the rating as the label) — what the page would cost without the tables.
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

from bench._bulk import copy_rows, plain_catalog  # noqa: E402
from bench._serving import bench_database_url  # noqa: E402

BENCH_DB = "aisle_bench_sentiment"
TEXTS = {
    1: "Awful, the {w} broke and it feels cheap.",
    2: "Disappointed with the {w}, would not buy again.",
    3: "It's okay, the {w} is average.",
    4: "Good {w}, happy with it.",
    5: "Excellent {w}, love it.",
}
WORDS = ["handle", "zip", "battery", "lid", "strap", "screen", "sole", "seam", "cable", "lens"]

RAW_WORST_SQL = """
SELECT e.product_id,
       count(*) FILTER (WHERE e.timestamp >= %(week)s) AS n,
       count(*) FILTER (WHERE e.timestamp >= %(week)s AND e.value < 2.5) AS k,
       count(*) FILTER (WHERE e.timestamp < %(week)s) AS bn,
       count(*) FILTER (WHERE e.timestamp < %(week)s AND e.value < 2.5) AS bk
  FROM catalog_event e
 WHERE e.type = 'review' AND e.review <> '' AND e.timestamp >= %(base)s
 GROUP BY e.product_id
HAVING count(*) FILTER (WHERE e.timestamp >= %(week)s) >= 3
"""


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _reviews(rng, n, start, span, products, shoppers, prefix, quality):
    now = datetime.now(UTC)
    for i in range(n):
        ts = start + timedelta(seconds=rng.random() * span)
        product = rng.choice(products)
        rating = max(1, min(5, round(rng.gauss(1.5 + 3.5 * quality[product], 0.9))))
        text = TEXTS[rating].format(w=rng.choice(WORDS))
        yield (
            f"{prefix}{i}",
            rng.choice(shoppers),
            product,
            "review",
            "",
            None,
            float(rating),
            text,
            "",
            "",
            ts,
            now,
        )


# the other events (views), generated inside PostgreSQL: the pages never read them and the job
# only skips them, so they need no Python
VIEWS_SQL = """
INSERT INTO catalog_event (event_id, shopper_id, product_id, type, query, value, review,
                           session, request_id, timestamp, received_at)
SELECT 'v' || g, %(s0)s + (g * 7919) %% %(ns)s, %(p0)s + (g * 104729) %% %(np)s, 'view', '',
       NULL, '', '', '', %(start)s + (random() * %(span)s) * interval '1 second', now()
  FROM generate_series(1::bigint, %(n)s) AS g
"""


EVENT_COLUMNS = [
    "event_id",
    "shopper_id",
    "product_id",
    "type",
    "query",
    "position",
    "value",
    "review",
    "session",
    "request_id",
    "timestamp",
    "received_at",
]


def _plant(args, log) -> None:
    from django.db import connection, transaction

    from catalog.services.demo import catalog_truncate

    rng = random.Random(16)
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    with transaction.atomic(), connection.cursor() as cursor:
        catalog_truncate()
        cursor.execute(
            "TRUNCATE insights_reviewsentiment, insights_sentimentdaily, insights_sentimentspike,"
            " insights_sentimentphrase, insights_sentimentstate"
        )
        now = datetime.now(UTC)
        copy_rows(cursor, "catalog_brand", ["name"], ((f"Brand {i}",) for i in range(200)))
        copy_rows(
            cursor,
            "catalog_category",
            ["external_id", "name", "path", "depth"],
            ((f"c{i}", f"Category {i}", f"c{i}", 0) for i in range(40)),
        )
        cursor.execute("SELECT min(id) FROM catalog_brand")
        b0 = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM catalog_category")
        c0 = cursor.fetchone()[0]
        plain_catalog(
            cursor,
            products=5000,
            shoppers=2000,
            now=now,
            extra_product_columns=(
                ["brand_id", "category_id"],
                lambda i: (b0 + i % 200, c0 + i % 40),
            ),
        )
        cursor.execute("SELECT id FROM catalog_product ORDER BY id")
        products = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT id FROM catalog_shopper ORDER BY id")
        shoppers = [r[0] for r in cursor.fetchall()]
        quality = {p: rng.random() for p in products}
        n_reviews = int(args.events * args.review_share)
        span = (end - start).total_seconds()
        cursor.execute(
            VIEWS_SQL,
            {
                "s0": shoppers[0],
                "ns": len(shoppers),
                "p0": products[0],
                "np": len(products),
                "start": start,
                "span": span,
                "n": args.events - n_reviews,
            },
        )
        copy_rows(
            cursor,
            "catalog_event",
            EVENT_COLUMNS,
            _reviews(rng, n_reviews, start, span, products, shoppers, "b", quality),
        )
        spike_day = (end - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        copy_rows(
            cursor,
            "catalog_event",
            EVENT_COLUMNS,
            (
                (
                    f"spike{i}",
                    shoppers[i],
                    products[7],
                    "review",
                    "",
                    None,
                    1.0,
                    "The lid cracked on day one.",
                    "",
                    "",
                    spike_day + timedelta(minutes=i),
                    now,
                )
                for i in range(30)
            ),
        )
        cursor.execute("ANALYZE catalog_event")
    log(f"planted {args.events:,} events ({args.review_share:.1%} reviews) + a 30-review spike")


def _times_ms(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def _page_times(fn, repeat: int) -> tuple[list[float], float]:
    """Sorted wall times (ms) of ``repeat`` calls and the median CPU time of this process."""
    times, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return sorted(times), statistics.median(cpu)


def _median_ms(fn, repeat: int) -> float:
    return statistics.median(_times_ms(fn, repeat))


def _p95(times: list[float]) -> float:
    """The nearest-rank 95th percentile of sorted ``times``."""
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


PAGES = (
    ("admin home (reference)", "admin:index", ""),
    ("trend store 30d", "admin:insights_sentiment_trend", ""),
    ("trend store 365d", "admin:insights_sentiment_trend", "span=365"),
    ("trend product", "admin:insights_sentiment_trend", "level=product"),
    ("trend category", "admin:insights_sentiment_trend", "level=category"),
    ("worst products", "admin:insights_sentiment_worst", ""),
    ("worst products min1", "admin:insights_sentiment_worst", "min=1"),
    ("worst brands", "admin:insights_sentiment_worst", "level=brand"),
    ("phrases", "admin:insights_sentiment_phrases", ""),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--review-share", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the store planted by the last run (rescore it)"
    )
    args = parser.parse_args()
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {msg}", flush=True)

    _setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from recommend.insights.services.sentiment import ScoreSettings, rating_scorer, reviews_score

    if not args.reuse:
        _plant(args, log)
    score = {"scorer": rating_scorer, "source": "rating", "model_version_id": None}
    t = time.perf_counter()
    full = reviews_score(**score, settings=ScoreSettings(rescore=True))
    full_s = time.perf_counter() - t
    log(f"score_reviews full: {full_s:.1f} s {full}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM catalog_product ORDER BY id LIMIT 1000")
        products = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT id FROM catalog_shopper ORDER BY id LIMIT 1000")
        shoppers = [r[0] for r in cursor.fetchall()]
        end = datetime.now(UTC)
        copy_rows(
            cursor,
            "catalog_event",
            EVENT_COLUMNS,
            _reviews(
                random.Random(3),
                1000,
                end - timedelta(hours=1),
                3000,
                products,
                shoppers,
                f"new{time.time_ns()}-",
                dict.fromkeys(products, 0.5),
            ),
        )
    t = time.perf_counter()
    reviews_score(**score)
    incr_s = time.perf_counter() - t
    log(f"score_reviews incr (1,000 new reviews): {incr_s:.2f} s")

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-sentiment", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    rows = []
    for label, name, query in PAGES:
        url = reverse(name) + (f"?{query}" if query else "")
        status = client.get(url).status_code  # warm-up
        times, cpu = _page_times(lambda u=url: client.get(u), args.repeat)
        rows.append((label, statistics.median(times), _p95(times), cpu, os.getloadavg()[0], status))

    from recommend.insights.selectors import sentiment as sel

    last = sel.latest_day()
    selector_rows = [
        (label, _median_ms(fn, args.repeat))
        for label, fn in (
            (
                "series_points store 365d",
                lambda: sel.series_points(
                    level="store", key=0, start=last - timedelta(days=364), end=last
                ),
            ),
            (
                "week_vs_baseline product",
                lambda: sel.week_vs_baseline(level="product", end=last, min_reviews=3),
            ),
            (
                "week_vs_baseline product min1",
                lambda: sel.week_vs_baseline(level="product", end=last, min_reviews=1),
            ),
            (
                "week_vs_baseline brand",
                lambda: sel.week_vs_baseline(level="brand", end=last, min_reviews=3),
            ),
            ("recent_spikes 30d", lambda: sel.recent_spikes(since=last - timedelta(days=29))),
            ("rising_phrases", lambda: sel.rising_phrases()),
        )
    ]
    today = end.date()
    week = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=6)

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW_WORST_SQL, {"week": week, "base": week - timedelta(days=28)})
            cursor.fetchall()

    raw_ms = _median_ms(raw, max(1, args.repeat // 2 + 1))
    print()
    print(f"{args.events:,} events, {args.review_share:.1%} reviews, {args.days} days")
    print(
        f"score_reviews full {full_s:.1f} s ({full['reviews_scored']:,} reviews), "
        f"incremental after 1,000 reviews {incr_s:.2f} s"
    )
    print(
        f"{'page (whole GET)':<24}{'median ms':>10}{'p95 ms':>8}{'cpu ms':>8}{'load 1m':>9}"
        f"{'status':>8}"
    )
    for label, ms, p95, cpu, load, status in rows:
        print(f"{label:<24}{ms:>10.1f}{p95:>8.1f}{cpu:>8.1f}{load:>9.2f}{status:>8}")
    print(f"{'selectors only (no request)':<24}{'median ms':>10}")
    for label, ms in selector_rows:
        print(f"{label:<30}{ms:>8.1f}")
    print(f"{'baseline: worst products from raw events (SQL only)':<52}{raw_ms:>8.1f} ms")


if __name__ == "__main__":
    main()
