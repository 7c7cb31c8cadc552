"""Churn risk and demand forecast on a demo store: the figures beside their baselines, the
planted stock-outs found, and the pages' time.

    DATABASE_URL=... .venv/bin/python bench/insights_churn_forecast.py [--truth-dir DIR]
                                                    [--run [churn_risk] [forecast_demand]]
    .venv/bin/python bench/insights_churn_forecast.py --database aisle_in_churn_1m --plant \
        [--events 1000000] [--shoppers 25000] [--churn-share 0.4] --run churn_risk

Reads the database ``DATABASE_URL`` names (a demo store built with ``manage.py demo_store
--truth-dir DIR``; never point it at data you care about with ``--run``, which runs the
``churn_risk`` and ``forecast_demand`` jobs — or the ones named — in this process first), or
with ``--database NAME`` a database of its own on the same server (created and migrated when
missing). ``--plant`` empties that database's catalog and plants a store whose shoppers churn
(``bench/_churn_store.py``: many shoppers, a stated share of whom stop returning — the demo
store's 2,000 shoppers at 1M events all return within any window, so ``churn_risk`` has no
label to learn there). Prints:

* churn: AUC on the later window beside the recency-only baseline's, Brier beside the base
  rate's, calibration error;
* forecast: median MASE per category beside the seasonal naive forecast's; which of the
  products the generator planted as running out (``stockouts.json``) are on the stock-out list;
* each insight page through Django's test client, signed in as a superuser: median and p95 of
  ``--repeat`` GETs after one warm-up (the issue's budget: 300 ms), with the 1-minute load
  average when it was timed and the median CPU time of this process per GET (Django's side
  alone, without PostgreSQL's: less sensitive to a shared box than the wall time), beside two
  existing admin pages timed in the same run (the shoppers list and the admin home) as the
  machine's baseline at that moment.
  The forecast pages are left out when no ``forecast_demand`` run exists.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ("churn_risk", "forecast_demand")
PAGES = (
    ("(baseline) admin home", "admin:index", ""),
    ("(baseline) shoppers list", "admin:catalog_shopper_changelist", ""),
    ("shoppers by churn risk", "admin:insights_churnscore_changelist", ""),
    ("churn risk, high band", "admin:insights_churnscore_changelist", "risk_band=high"),
    ("churn risk, one group", "admin:insights_churnscore_changelist", "group={group}"),
    ("churn risk, search", "admin:insights_churnscore_changelist", "q={shopper}"),
    ("churn risk, page 50", "admin:insights_churnscore_changelist", "p=50"),
    ("churn risk, last page", "admin:insights_churnscore_changelist", "p={last}"),
    ("win-back lists", "admin:insights_churnscore_winback", ""),
    ("win-back CSV", "admin:insights_churnscore_winback_csv", ""),
)
FORECAST_PAGES = (
    ("demand forecasts", "admin:insights_demandforecast_changelist", ""),
    ("stock-out risk", "admin:insights_demandforecast_changelist", "runs_out__exact=1"),
    ("category forecasts", "admin:insights_demandforecast_changelist", "kind__exact=category"),
)


def _p95(times: list[float]) -> float:
    """The nearest-rank 95th percentile of sorted ``times``."""
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def _plant(args) -> None:
    from django.db import connection, transaction

    from bench import _churn_store
    from catalog.services.demo import catalog_truncate

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        catalog_truncate()
        store = _churn_store.plant(
            cursor,
            events=args.events,
            shoppers=args.shoppers,
            churn_share=args.churn_share,
            days=args.days,
            log=lambda m: print(f"[{time.monotonic() - started:6.1f} s] {m}", flush=True),
        )
    print(
        f"planted in {time.monotonic() - started:.0f} s: {store.events:,} events, "
        f"{store.visits:,} visits, {store.shoppers:,} shoppers ({store.churners:,} churners), "
        f"{store.products:,} products, {store.start:%Y-%m-%d} to {store.end:%Y-%m-%d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--truth-dir", default="")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--run", nargs="*", choices=KINDS, help="run these jobs first (no name: both)"
    )
    parser.add_argument("--database", default="", help="a database of its own (see the doc)")
    parser.add_argument("--plant", action="store_true", help="plant a churning store first")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--shoppers", type=int, default=25_000)
    parser.add_argument("--churn-share", type=float, default=0.4)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    if args.plant and not args.database:
        parser.error("--plant needs --database (it empties the catalog)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    if args.database:
        from bench._serving import bench_database_url

        os.environ["DATABASE_URL"] = bench_database_url(args.database)
    import django

    django.setup()
    if args.database:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    if args.plant:
        _plant(args)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from catalog.models import Event
    from recommend.insights.models import ChurnRun, DemandForecast, ForecastRun
    from training import services

    if args.run is not None:
        for kind in args.run or KINDS:
            started = time.monotonic()
            job = services.job_run(job_id=services.job_launch(kind=kind, params={}).pk)
            print(f"{kind}: {job.status} in {time.monotonic() - started:.1f} s {job.error or ''}")
    print(f"events: {Event.objects.count():,}")
    churn = ChurnRun.objects.order_by("-created_at").first()
    if churn:
        m = churn.metrics
        print(
            f"churn (later window, {m['eval_shoppers']} shoppers, {m['eval_churn_rate']:.1%} churned): "
            f"AUC {m['auc']:.4f} vs recency only {m['auc_recency']:.4f} (lift {m['auc_lift']:+.4f}); "
            f"Brier {m['brier']:.4f} vs base rate {m['brier_base_rate']:.4f}; ECE {m['ece']:.4f}"
        )
    run = ForecastRun.objects.order_by("-created_at").first()
    if run:
        m = run.metrics
        print(
            f"forecast: median MASE per category {m['median_mase_category']} vs seasonal naive "
            f"{m['median_mase_naive_category']} ({len(m['categories'])} categories, "
            f"{m['categories_all_zero']} all zero); products {m['products']}, median MASE "
            f"{m['median_mase_product']}, {m['products_all_zero']} all zero; {m['runs_out']} run out"
        )
        truth = Path(args.truth_dir) / "stockouts.json" if args.truth_dir else None
        if truth and truth.exists():
            planted = [p["external_id"] for p in json.loads(truth.read_text())["products"]]
            listed = set(
                DemandForecast.objects.filter(runs_out=True).values_list(
                    "product__external_id", flat=True
                )
            )
            found = [ext for ext in planted if ext in listed]
            print(f"planted stock-outs on the list: {len(found)}/{len(planted)} {found}")

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-insights", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    from urllib.parse import quote

    from recommend.insights.models import ChurnScore

    top = ChurnScore.objects.select_related("shopper").order_by("-risk", "id").first()
    scores = ChurnScore.objects.count()
    fill = {
        "last": max(1, -(-scores // 100)),  # the list's 100 rows a page
        "group": quote(top.group if top else ""),
        "shopper": quote(top.shopper.external_id if top else ""),
    }
    print(f"churn scores: {scores:,}")
    pages = PAGES + (FORECAST_PAGES if run else ())
    for label, name, query in pages:
        url = reverse(name) + (f"?{query.format(**fill)}" if query else "")
        response = client.get(url)
        status, size = response.status_code, len(response.content)
        times, cpu = [], []
        for _ in range(args.repeat):
            started, used = time.perf_counter(), time.process_time()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
        times.sort()
        print(
            f"page {label:<26} p50 {statistics.median(times):7.1f} ms  p95 {_p95(times):7.1f} ms"
            f"  cpu p50 {statistics.median(cpu):6.1f} ms  load {os.getloadavg()[0]:5.2f}"
            f"  (status {status}, {size:,} bytes)"
        )


if __name__ == "__main__":
    main()
