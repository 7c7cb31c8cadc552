"""Churn risk and demand forecast on a demo store: the figures beside their baselines, the
planted stock-outs found, and the pages' time.

    DATABASE_URL=... .venv/bin/python bench/insights_churn_forecast.py [--truth-dir DIR] [--run]

Reads the database ``DATABASE_URL`` names (a demo store built with ``manage.py demo_store
--truth-dir DIR``; never point it at data you care about with ``--run``, which runs the
``churn_risk`` and ``forecast_demand`` jobs in this process first). Prints:

* churn: AUC on the later window beside the recency-only baseline's, Brier beside the base
  rate's, calibration error;
* forecast: median MASE per category beside the seasonal naive forecast's; which of the
  products the generator planted as running out (``stockouts.json``) are on the stock-out list;
* each insight page through Django's test client, signed in as a superuser: median of
  ``--repeat`` GETs after one warm-up (the issue's budget: 300 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

PAGES = (
    ("(baseline) shoppers list", "admin:catalog_shopper_changelist", ""),
    ("shoppers by churn risk", "admin:insights_churnscore_changelist", ""),
    ("churn risk, high band", "admin:insights_churnscore_changelist", "risk_band=high"),
    ("win-back lists", "admin:insights_churnscore_winback", ""),
    ("win-back CSV", "admin:insights_churnscore_winback_csv", ""),
    ("demand forecasts", "admin:insights_demandforecast_changelist", ""),
    ("stock-out risk", "admin:insights_demandforecast_changelist", "runs_out__exact=1"),
    ("category forecasts", "admin:insights_demandforecast_changelist", "kind__exact=category"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--truth-dir", default="")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--run", action="store_true", help="run both jobs first")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from catalog.models import Event
    from recommend.insights.models import ChurnRun, DemandForecast, ForecastRun
    from training import services

    if args.run:
        for kind in ("churn_risk", "forecast_demand"):
            started = time.monotonic()
            job = services.job_run(job_id=services.job_launch(kind=kind, params={}).pk)
            print(f"{kind}: {job.status} in {time.monotonic() - started:.1f} s")
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
    for label, name, query in PAGES:
        url = reverse(name) + (f"?{query}" if query else "")
        status = client.get(url).status_code
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        print(f"page {label:<24} {statistics.median(times):7.1f} ms  (status {status})")


if __name__ == "__main__":
    main()
