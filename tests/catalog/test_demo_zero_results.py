"""The zero-result planting (catalog/demo/zero_results.py): searches for words the catalogue
never uses, with clearly different volumes (the worst is unique), on a stream of its own."""

from __future__ import annotations

from catalog.demo import zero_results
from catalog.demo.generator import generate_store
from catalog.demo.truth import write_planting_truth

STORE = {"products": 300, "shoppers": 150, "days": 20, "seed": 42}


def test_planted_queries_are_words_the_store_never_uses_for_products_it_sells(tmp_path):
    store = generate_store(**STORE)
    part = store.extras["zero_results"]
    queries = part["truth"]["queries"]
    assert len(queries) == zero_results.COUNT
    counts = [q["searches"] for q in queries]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts)
    text = zero_results._store_text(store)
    titles = [p["title"].lower() for p in store.products]
    for q in queries:
        assert q["query"] not in text  # nothing in the store answers it lexically
        assert sum(q["fix"] in t for t in titles) >= zero_results.MIN_PRODUCTS
        assert sum(r["query"] == q["query"] for r in part["served"]) == q["searches"]
    last = max(e["timestamp"] for e in store.events)
    assert all(
        0 <= (last - r["timestamp"]).total_seconds() <= zero_results.DAYS * 86400
        for r in part["served"]
    )
    assert len({r["request_id"] for r in part["served"]}) == len(part["served"])
    assert generate_store(**STORE).extras["zero_results"] == part  # deterministic
    assert "zero_results" in write_planting_truth(store, tmp_path)
