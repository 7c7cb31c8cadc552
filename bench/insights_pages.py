"""Server-side time of the Insights → shopper profile and segments pages (issue 16's budget: each
page under 300 ms at the demo store's size with 1M events).

Run against a database that holds a demo store, its embeddings and a finished
``shopper_segments`` job (``manage.py run_job shopper_segments --inline``):

    DATABASE_URL=... .venv/bin/python bench/insights_pages.py [--shoppers 20] [--query espresso]

It signs a staff operator in with Django's test client (no network), opens the pages of a
seeded sample of shoppers (each once to warm the process caches, then timed), and prints p50,
p95 and max beside the 300 ms budget, and the same figures for two existing admin pages (a
small list and the dashboard) as the machine's baseline at that moment. The shopper page includes the read-only "what this
shopper sees" (recommendations, and a search as them with --query).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")

BUDGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--query", default="")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.test.utils import setup_test_environment

    from catalog.models import Event
    from recommend.insights.models import ShopperInsight

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-insights", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name="operator"))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    pks = list(ShopperInsight.objects.order_by("pk").values_list("pk", flat=True))
    sample = random.Random(args.seed).sample(pks, min(args.shoppers, len(pks)))
    events = Event.objects.count()
    query = {"q": args.query} if args.query else {}

    def timed(url: str, params: dict) -> float:
        started = time.perf_counter()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        return elapsed

    pages = {
        "shopper profile": [f"/admin/insights/shopperinsight/{pk}/change/" for pk in sample],
        "segments": ["/admin/insights/segment/"] * len(sample),
        "shopper profiles list": ["/admin/insights/shopperinsight/"] * len(sample),
        # baselines on the same machine and moment: a small admin list and the dashboard
        "baseline: model versions": ["/admin/training/modelversion/"] * len(sample),
        "baseline: admin home": ["/admin/"] * len(sample),
    }
    print(f"{events:,} events, {len(pks):,} shopper profiles, {len(sample)} shoppers sampled")
    for name, urls in pages.items():
        timed(urls[0], query)  # warm the process caches (strategies, vectors, encoder)
        times = sorted(timed(url, query) for url in urls)
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(
            f"{name:24s} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
            f"max {times[-1]:7.1f} ms  (budget {BUDGET_MS:.0f} ms)"
        )


if __name__ == "__main__":
    main()
