"""An experiment's results on a big experiment: the results query by the one attribution rule
next to the experiments-only rule it replaced (the baseline, kept here as it was).

    .venv/bin/python bench/experiment_results.py [--units 50000] [--events 2000000] [--repeat 3]

Runs against a database of its own (``aisle_bench_experiments`` on the same PostgreSQL server;
created and migrated on first use, emptied before each plant), never the development data.
Plants, with COPY, a running search experiment over ``--days`` days: ``--units`` shoppers each
browse in 1–3 sessions of 1–3 served searches (a ``ServedRequest`` showing 10 products and its
``Exposure``), click a shown product with probability 0.30 (control) / 0.33 (treatment), half
of the clicks carrying the request id, then add to cart and buy some; plus traffic outside the
experiment (recommendation lists and their events, other shoppers) up to ``--events`` events.
Then measures, median of ``--repeat`` runs:

* ``results (one rule)``   — ``experiment_results`` as the results page and the verdict beat
  call it (the attribution query, p95 latency, CUPED pre-period and the analysis);
* ``attribution query (one rule)`` — its attribution-and-aggregation query alone;
* ``attribution query (old rule)`` — the query it replaced: request id, else the unit's latest
  exposure within 30 minutes, whatever it showed (the baseline);

and how many exposures each query credits with a click.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._bulk import SERVED_REQUEST_COLUMNS, copy_rows, plain_catalog  # noqa: E402
from bench._serving import setup_django, table  # noqa: E402

BENCH_DB = "aisle_bench_experiments"

#: the experiments' attribution before the one rule (recommend/experiments/selectors.py, as it
#: was): kept here as the baseline
OLD_ATTRIBUTED_SQL = """
WITH att AS (
    SELECT x.id AS exposure_id, e.type, e.value
      FROM catalog_event e
      JOIN recommend_exposure x ON x.request_id = e.request_id AND x.experiment_id = %(exp)s
     WHERE e.request_id <> '' AND e.type IN ('click', 'add_to_cart', 'purchase')
    UNION ALL
    SELECT w.id, e.type, e.value
      FROM catalog_event e
      JOIN LATERAL (
            SELECT x.id FROM recommend_exposure x
             WHERE x.experiment_id = %(exp)s AND x.shopper_id = e.shopper_id
               AND x.timestamp <= e.timestamp AND x.timestamp >= e.timestamp - %(window)s
             ORDER BY x.timestamp DESC LIMIT 1) w ON true
     WHERE e.request_id = '' AND e.type IN ('click', 'add_to_cart', 'purchase')
       AND e.timestamp >= %(start)s AND e.timestamp <= %(end)s
       AND e.shopper_id IN (SELECT DISTINCT shopper_id FROM recommend_exposure
                             WHERE experiment_id = %(exp)s AND shopper_id IS NOT NULL)
    UNION ALL
    SELECT w.id, e.type, e.value
      FROM catalog_event e
      JOIN LATERAL (
            SELECT x.id FROM recommend_exposure x
             WHERE x.experiment_id = %(exp)s AND x.shopper_id IS NULL AND x.session = e.session
               AND x.timestamp <= e.timestamp AND x.timestamp >= e.timestamp - %(window)s
             ORDER BY x.timestamp DESC LIMIT 1) w ON true
     WHERE e.request_id = '' AND e.session <> '' AND e.type IN ('click', 'add_to_cart', 'purchase')
       AND e.timestamp >= %(start)s AND e.timestamp <= %(end)s
       AND e.session IN (SELECT DISTINCT session FROM recommend_exposure
                          WHERE experiment_id = %(exp)s AND shopper_id IS NULL AND session <> '')
),
per_exposure AS (
    SELECT exposure_id,
           count(*) FILTER (WHERE type = 'click') AS clicks,
           count(*) FILTER (WHERE type = 'add_to_cart') AS carts,
           count(*) FILTER (WHERE type = 'purchase') AS purchases,
           coalesce(sum(value) FILTER (WHERE type = 'purchase'), 0) AS revenue
      FROM att GROUP BY exposure_id
)
SELECT x.variant_id, x.unit_type, x.unit_id, min(x.shopper_id),
       floor(extract(epoch FROM x.timestamp - %(start)s) / %(bucket)s)::int AS bucket,
       count(*), count(*) FILTER (WHERE a.clicks > 0), count(*) FILTER (WHERE x.result_count = 0),
       coalesce(sum(a.carts), 0), coalesce(sum(a.purchases), 0), coalesce(sum(a.revenue), 0),
       sum(x.latency_ms)
  FROM recommend_exposure x
  LEFT JOIN per_exposure a ON a.exposure_id = x.id
 WHERE x.experiment_id = %(exp)s
 GROUP BY x.variant_id, x.unit_type, x.unit_id, bucket
"""


def _plant(*, units: int, n_events: int, days: int, n_products: int, log) -> int:
    """Plant the store and the experiment; returns the experiment's id."""
    from django.db import connection, transaction

    from catalog.services.demo import catalog_truncate
    from recommend.experiments.logic.assignment import assign
    from recommend.experiments.models import Experiment, Variant
    from recommend.models import Strategy
    from recommend.services import strategy_ensure_defaults

    rng = random.Random(13)
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    now = datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        catalog_truncate()
        cursor.execute("TRUNCATE analytics_servedrequest")
        Experiment.objects.all().delete()
        strategy_ensure_defaults()
        base = Strategy.objects.get(surface="search", is_default=True)
        other, _ = Strategy.objects.get_or_create(name="bench-treatment", surface="search")
        experiment = Experiment.objects.create(
            name="bench",
            surface="search",
            hypothesis="bench",
            status=Experiment.Status.RUNNING,
            salt="bench-salt",
            guardrails=["zero_result_rate", "latency"],
            started_at=start,
        )
        variants = {
            "control": Variant.objects.create(
                experiment=experiment, key="control", strategy=base, share=50, is_control=True
            ),
            "treatment": Variant.objects.create(
                experiment=experiment, key="treatment", strategy=other, share=50
            ),
        }
        n_shoppers = units * 2  # half of the shoppers browse outside the experiment
        first_product, first_shopper = plain_catalog(
            cursor, products=n_products, shoppers=n_shoppers, now=now
        )

        served, exposures, events = [], [], []
        session = 0

        def browse(index: int, in_experiment: bool) -> None:
            nonlocal session
            shopper = first_shopper + index
            key = assign("bench-salt", f"s{index}", [("control", 50), ("treatment", 50)])
            click_p = 0.33 if key == "treatment" else 0.30
            for _ in range(rng.randint(1, 3)):
                session += 1
                sid = f"b{session}"
                t = start + timedelta(seconds=rng.uniform(0, span - 3600))
                for step in range(rng.randint(1, 3)):
                    t += timedelta(seconds=rng.uniform(5, 300))
                    rid = f"r{session}-{step}"
                    shown = [first_product + rng.randrange(n_products) for _ in range(10)]
                    latency = rng.lognormvariate(2.5, 0.5)
                    endpoint = "search" if in_experiment else "recommendations"
                    served.append(
                        (rid, endpoint, endpoint, "default", key if in_experiment else "")
                        + (shopper, sid, "", "{" + ",".join(map(str, shown)) + "}", 10)
                        + (latency, f'{{"total": {latency:.3f}}}', False, t)
                    )
                    if in_experiment:
                        exposures.append(
                            (experiment.pk, variants[key].pk, "shopper", f"s{index}", shopper)
                            + (sid, rid, t, latency, 10)
                        )
                    for _ in range(rng.randint(0, 3)):
                        events.append((shopper, rng.choice(shown), "view", 0, sid, "", t))
                    if rng.random() < click_p:
                        product = shown[min(9, int(rng.expovariate(0.5)))]
                        ct = t + timedelta(seconds=rng.uniform(2, 120))
                        carried = rid if rng.random() < 0.5 else ""
                        events.append((shopper, product, "click", 0, sid, carried, ct))
                        if rng.random() < 0.3:
                            at = ct + timedelta(seconds=rng.uniform(10, 600))
                            events.append((shopper, product, "add_to_cart", 0, sid, "", at))
                            if rng.random() < 0.4:
                                pt = at + timedelta(seconds=rng.uniform(10, 600))
                                events.append((shopper, product, "purchase", 10, sid, "", pt))

        for index in range(units):
            browse(index, True)
        while len(events) < n_events:
            browse(units + rng.randrange(n_shoppers - units), False)
        log(
            f"planting {len(exposures)} exposures of {units} units, {len(served)} served requests"
            f" and {len(events)} events"
        )
        copy_rows(
            cursor,
            "analytics_servedrequest",
            SERVED_REQUEST_COLUMNS,
            served,
        )
        copy_rows(
            cursor,
            "recommend_exposure",
            [
                "experiment_id",
                "variant_id",
                "unit_type",
                "unit_id",
                "shopper_id",
                "session",
                "request_id",
                "timestamp",
                "latency_ms",
                "result_count",
            ],
            exposures,
        )
        copy_rows(
            cursor,
            "catalog_event",
            [
                "event_id",
                "shopper_id",
                "product_id",
                "type",
                "value",
                "session",
                "request_id",
                "timestamp",
                "received_at",
                "query",
                "review",
            ],
            ((f"b{n}", *row, now, "", "") for n, row in enumerate(events)),
        )
        for name in ("catalog_event", "analytics_servedrequest", "recommend_exposure"):
            cursor.execute(f"ANALYZE {name}")
    return experiment.pk


def _median_ms(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-plant", action="store_true", help="Reuse the planted data.")
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    setup_django(BENCH_DB)
    from django.db import connection

    from recommend.experiments import selectors
    from recommend.experiments.models import Experiment

    if args.skip_plant:
        experiment = Experiment.objects.get(name="bench")
    else:
        started = time.perf_counter()
        pk = _plant(
            units=args.units,
            n_events=args.events,
            days=args.days,
            n_products=args.products,
            log=log,
        )
        log(f"planted in {time.perf_counter() - started:.1f} s")
        experiment = Experiment.objects.get(pk=pk)

    span = experiment.exposures.order_by("timestamp").values_list("timestamp", flat=True)
    first, last = span.first(), span.last()
    seconds = selectors._bucket_seconds(last - first)
    start = datetime.fromtimestamp((first.timestamp() // seconds) * seconds, tz=UTC)
    window = timedelta(minutes=30)
    params = {
        "exp": experiment.pk,
        "first": first,
        "start": start,
        "end": last + window,
        "window": window,
        "bucket": seconds,
    }

    def query(sql: str):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    rows = []
    ms, results = _median_ms(lambda: selectors.experiment_results(experiment), args.repeat)
    rows.append(["results (one rule)", round(ms, 1), "", ""])
    for label, sql in (
        ("attribution query (one rule)", selectors._ATTRIBUTED_SQL),
        ("attribution query (old rule, baseline)", OLD_ATTRIBUTED_SQL),
    ):
        ms, raw = _median_ms(lambda s=sql: query(s), args.repeat)
        exposures = sum(r[5] for r in raw)
        clicked = sum(r[6] for r in raw)
        rows.append([label, round(ms, 1), exposures, clicked])
    print(
        table(
            ["measure", "median ms", "exposures", "clicked exposures"],
            rows,
            title=f"experiment results: {results.units} units, {results.exposures} exposures "
            f"(median of {args.repeat})",
        )
    )
    control = results.analysis.control
    print(f"control CTR {control.values['ctr']:.4f}; verdict: {results.analysis.sentence}")


if __name__ == "__main__":
    main()
