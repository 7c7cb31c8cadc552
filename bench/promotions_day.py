"""One simulated day of a promotion campaign on a demo store: the uplift of treated shoppers
against the held-out control (the baseline: the same shoppers' days without the promotion).

    .venv/bin/python bench/promotions_day.py --database aisle_pr_demo [--shoppers 400]
        [--control 20] [--sessions-per-day 1.5] [--seed 42]

Needs a demo store in ``--database`` (on the development PostgreSQL server: ``migrate``,
``demo_store``, ``platform_bootstrap``) and its hidden truth in DATA_DIR/demo (the simulated
shoppers' tastes). Creates (or reuses) a campaign "bench: largest category" promoting every
product of the store's largest leaf category for the simulated day, runs ``simulate_traffic``
for one day with every session opening the promotion slot, then prints the campaign page's
figures: impressions, CTR, conversions per arm and the uplift with its 95% interval.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._serving import setup_django, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--shoppers", type=int, default=400)
    parser.add_argument("--control", type=float, default=20.0)
    parser.add_argument("--sessions-per-day", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    setup_django(args.database, redis_db=args.redis_db)

    from django.db.models import Count

    from catalog.models import Category
    from recommend.experiments.simulation import default_start, traffic_simulate
    from recommend.promotions.models import Campaign
    from recommend.promotions.selectors import campaign_report

    start = default_start()
    leaf = (
        Category.objects.filter(children__isnull=True)
        .annotate(n=Count("products"))
        .order_by("-n", "pk")
        .first()
    )
    campaign, _ = Campaign.objects.update_or_create(
        name=f"bench: largest category ({start:%Y-%m-%d})",
        defaults={
            "category": leaf,
            "slot": "home",
            "starts_at": start,
            "ends_at": start + timedelta(days=1),
            "control_percent": args.control,
            "impression_budget": 100_000,
            "status": Campaign.Status.RUNNING,
        },
    )
    print(
        f"campaign #{campaign.pk}: category {leaf.name!r} ({leaf.n} products), "
        f"control {args.control:g}%, day {start:%Y-%m-%d}"
    )
    began = time.perf_counter()
    report = traffic_simulate(
        shoppers=args.shoppers,
        days=1,
        seed=args.seed,
        start=start,
        sessions_per_day=args.sessions_per_day,
        promotion_slot="home",
    )
    print(report.summary())
    print(f"simulated in {time.perf_counter() - began:.0f} s")
    campaign.refresh_from_db()
    began = time.perf_counter()
    figures = campaign_report(campaign)
    page_ms = (time.perf_counter() - began) * 1000
    rows = []
    for arm in ("treated", "control"):
        f = figures.arms[arm]
        rows.append(
            [arm, f.shoppers, f.serves, f.impressions, f.clicks, f.ctr, f.converted, f.conversion]
        )
    print(
        table(
            [
                "arm",
                "shoppers",
                "requests",
                "impressions",
                "clicks",
                "CTR",
                "converted",
                "conversion",
            ],
            rows,
            title="campaign page (control = baseline)",
        )
    )
    u = figures.uplift
    if u is not None:
        print(
            f"uplift (treated - control conversion): {u.abs_diff * 100:+.2f} pp, 95% CI "
            f"{u.abs_ci_low * 100:+.2f} to {u.abs_ci_high * 100:+.2f} pp; relative "
            f"{u.rel_lift * 100:+.1f}% (CI {u.ci_low * 100:+.1f}% to {u.ci_high * 100:+.1f}%), "
            f"p = {u.p_value:.3f}"
        )
    print(
        f"attributed purchases of shown promotions: {figures.purchases}; "
        f"report queries {page_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
