"""More judged queries of the held-out grammar over one store (``more_heldout_judged``): the
fusion bench's way past the 80 a store plants, so a tuning has enough validation queries to be
told from chance. Plain Python, no database."""

from __future__ import annotations

import re

from catalog.demo import generate_store
from catalog.demo.judged_heldout import FRAMES, more_heldout_judged

STORE = {"products": 300, "shoppers": 0, "days": 1, "seed": 7}


def frame_pattern(frame: str) -> re.Pattern:
    parts = re.split(r"\{[tbau]\}", frame)
    return re.compile(".+".join(re.escape(p) for p in parts))


def test_more_queries_of_the_same_grammar_none_of_them_planted():
    store = generate_store(**STORE)
    planted = {q["query"] for q in store.extras["judged_heldout"]["queries"]}
    demo = {j["query"] for j in store.truth.judged_queries}
    more = more_heldout_judged(store, count=120, seed=7)
    queries = [q["query"] for q in more["queries"]]
    assert len(queries) == len(set(queries)) == 120
    assert not set(queries) & planted and not set(queries) & demo
    # graded rows for every query, relevant ones among them, ids of the store's products
    graded = {row["query"] for row in more["relevance"] if float(row["grade"]) > 0}
    assert len(graded) >= 100
    external = {p["external_id"] for p in store.products}
    assert {row["product_id"] for row in more["relevance"]} <= external
    # the held-out frames (a misspelling can break one word of a frame: most still match)
    patterns = [frame_pattern(f) for f in FRAMES]
    framed = sum(any(p.fullmatch(q) for p in patterns) for q in queries)
    assert framed >= 0.6 * len(queries)


def test_its_own_generator_leaves_the_store_and_repeats_with_the_seed():
    store = generate_store(**STORE)
    before = [q["query"] for q in store.extras["judged_heldout"]["queries"]]
    first = more_heldout_judged(store, count=30, seed=7)
    assert more_heldout_judged(store, count=30, seed=7) == first
    assert more_heldout_judged(store, count=30, seed=8)["queries"] != first["queries"]
    assert [q["query"] for q in store.extras["judged_heldout"]["queries"]] == before
    assert (
        generate_store(**STORE).extras["judged_heldout"]["queries"]
        == (store.extras["judged_heldout"]["queries"])
    )
