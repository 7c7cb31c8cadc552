"""The stock-out planting: products that sell steadily but have little stock left, for the
demand forecast's stock-out list to find.  Plain Python, no Django; draws only from its own
stream (``streams.rng("stockouts")``), so the base store stays as it was.

Among the active, in-stock products with the most purchases in the store's last 14 days (the
top ``POOL``), ``COUNT`` are drawn and their stock set to a quarter of those 14 days' sales
(at least 1): at the recent pace they run out within about 4 days.  The part returned
(``store.extras["stockouts"]``): ``stock`` (external id → the planted stock, which the loader
writes instead of the generated one) and ``truth`` (``stockouts.json``: the products, their
recent sales and planted stock).
"""

from __future__ import annotations

from datetime import timedelta

from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "stockouts"
POOL = 40
COUNT = 8
RECENT_DAYS = 14


def plant_stockouts(store: DemoStore, streams: Streams) -> dict:
    rng = streams.rng(NAME)
    if not store.events:
        return {"stock": {}, "truth": {"products": []}}
    since = store.events[-1]["timestamp"] - timedelta(days=RECENT_DAYS)
    sold: dict[str, int] = {}
    for event in store.events:
        if event["type"] == "purchase" and event["timestamp"] >= since:
            sold[event["product"]] = sold.get(event["product"], 0) + 1
    eligible = {
        p["external_id"] for p in store.products if p.get("active", True) and int(p["stock"]) > 0
    }
    ranked = sorted((-n, ext) for ext, n in sold.items() if ext in eligible)[:POOL]
    chosen = sorted(rng.sample([ext for _n, ext in ranked], min(COUNT, len(ranked))))
    stock = {ext: max(1, sold[ext] // 4) for ext in chosen}
    return {
        "stock": stock,
        "truth": {
            "rule": f"stock = max(1, purchases in the last {RECENT_DAYS} days // 4)",
            "products": [
                {"external_id": ext, "purchases_last_14_days": sold[ext], "stock": stock[ext]}
                for ext in chosen
            ],
        },
    }
