"""The churner planting: shoppers whose visit rate decays after a recorded date, added from the
planting's own stream (the base store stays pinned: ``test_demo_store_hash``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from catalog.demo import generate_store
from catalog.demo.churners import MIN_CHURNERS
from catalog.demo.truth import write_planting_truth

STORE = {"products": 300, "shoppers": 100, "days": 40, "seed": 7}


def test_churners_visit_less_after_their_decay_date_and_the_truth_says_when(tmp_path):
    store = generate_store(**STORE)
    part = store.extras["churners"]
    planted = {s["external_id"] for s in part["shoppers"]}
    assert len(planted) == MIN_CHURNERS
    assert not planted & {s["external_id"] for s in store.shoppers}
    assert {e["shopper"] for e in part["events"]} <= planted
    products = {p["external_id"] for p in store.products}
    assert {e["product"] for e in part["events"]} <= products
    ids = [e["event_id"] for e in part["events"]]
    assert len(set(ids)) == len(ids) and not set(ids) & {e["event_id"] for e in store.events}
    end = store.events[-1]["timestamp"]
    assert max(e["timestamp"] for e in part["events"]) < end

    before = after = 0.0
    for truth in part["truth"]["churners"]:
        d0 = datetime.fromisoformat(truth["decay_start"])
        late = d0 + timedelta(days=2 * truth["tau_days"])
        visits = {
            e["session"]: e["timestamp"]
            for e in part["events"]
            if e["shopper"] == truth["external_id"]
        }
        start = store.events[0]["timestamp"]
        before += sum(start <= t < d0 for t in visits.values()) / max(1, (d0 - start).days)
        if late < end:
            after += sum(t >= late for t in visits.values()) / max(1, (end - late).days)
    assert before > 4 * after  # the rate falls to e^-2 of itself (and below) two taus in

    again = generate_store(**STORE).extras["churners"]
    assert again == part  # deterministic
    paths = write_planting_truth(store, tmp_path)
    assert json.loads(paths["churners"].read_text())["hazard"]["rule"]


def test_stockouts_are_recent_best_sellers_left_with_a_quarter_of_their_sales(tmp_path):
    store = generate_store(**STORE)
    part = store.extras["stockouts"]
    since = store.events[-1]["timestamp"] - timedelta(days=14)
    sold: dict[str, int] = {}
    for e in store.events:
        if e["type"] == "purchase" and e["timestamp"] >= since:
            sold[e["product"]] = sold.get(e["product"], 0) + 1
    assert part["stock"] and len(part["stock"]) <= 8
    for ext, stock in part["stock"].items():
        assert stock == max(1, sold[ext] // 4) < sold[ext] or sold[ext] == 1
    generated = {p["external_id"]: p["stock"] for p in store.products}
    assert all(generated[ext] > 0 for ext in part["stock"])  # the base store is untouched
    assert generate_store(**STORE).extras["stockouts"] == part
    assert "stockouts" in write_planting_truth(store, tmp_path)
