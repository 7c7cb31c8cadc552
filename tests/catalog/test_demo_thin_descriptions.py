"""The thin-description planting: 3 % of the active products, never a judged query's exact
target, each with a thin text (under 12 words) and its generated description in the truth;
deterministic, and the base store stays pinned (``test_demo_store_hash``)."""

from __future__ import annotations

from catalog.copywriting.logic.drafting import is_thin
from catalog.demo import generate_store
from catalog.demo.thin_descriptions import NAME

STORE = {"products": 300, "shoppers": 10, "days": 2, "seed": 7}


def test_thin_descriptions_are_planted_on_their_own_stream():
    store = generate_store(**STORE)
    part = store.extras[NAME]
    exact = {r["product_id"] for r in store.truth.relevance if int(r["grade"]) >= 3}
    by_id = {p["external_id"]: p for p in store.products}
    assert len(part["description"]) == round(0.03 * len(store.products))
    for ext, text in part["description"].items():
        assert ext not in exact and by_id[ext].get("active", True)
        assert is_thin(text, min_words=12) and not is_thin(by_id[ext]["description"], min_words=12)
    truth = {row["external_id"]: row for row in part["truth"]["products"]}
    assert set(truth) == set(part["description"])
    assert all(truth[e]["generated"] == by_id[e]["description"] for e in truth)
    assert generate_store(**STORE).extras[NAME] == part
