"""How an intent reorders candidates (plain Python, no database)."""

from __future__ import annotations

from recommend.engine import intent_actions
from recommend.engine.intent_actions import DEFAULTS, Behaviour, Candidate, Signals, rerank


def cand(pk, *, stock=True, price=10.0, category="c", brand="b"):
    return Candidate(id=pk, in_stock=stock, price=price, category=category, brand=brand)


def test_buy_puts_in_stock_first_and_says_so():
    items = {1: cand(1, stock=False), 2: cand(2), 3: cand(3)}
    order, moved = rerank([1, 2, 3], items, DEFAULTS["buy"], Signals())
    assert order == [2, 3, 1]
    assert moved[1].before == 1 and moved[1].after == 3
    assert "out of stock" in moved[1].reasons
    assert moved[2].as_dict("buy")["moved"] == "up"
    assert moved[2].as_dict("buy")["from"] == 2 and moved[2].as_dict("buy")["to"] == 1
    assert "in stock" in moved[2].as_dict("buy")["because"]


def test_review_prefers_many_good_ratings_over_none():
    items = {1: cand(1), 2: cand(2), 3: cand(3)}
    signals = Signals(ratings={3: (40, 4.8), 2: (1, 5.0)})
    order, moved = rerank([1, 2, 3], items, DEFAULTS["review"], signals)
    assert order[0] == 3
    assert "rated 4.8/5 by 40" in moved[3].reasons


def test_price_match_uses_the_band_and_decays_outside_it():
    assert intent_actions.price_match(50, (40, 60)) == 1.0
    assert intent_actions.price_match(120, (40, 60)) < intent_actions.price_match(70, (40, 60))
    bands = intent_actions.shopper_bands([("shoes", 100.0), ("shoes", 120.0), ("tv", 500.0)])
    assert bands["shoes"][0] <= 100 and bands["shoes"][1] >= 120
    assert intent_actions.query_bands([cand(1, price=10), cand(2, price=30)]) == {"c": (15.0, 25.0)}
    assert intent_actions.query_bands([cand(1)], price_range=(5, 9)) == {None: (5, 9)}


def test_browse_spreads_brands_and_categories():
    items = {
        1: cand(1, brand="a"),
        2: cand(2, brand="a"),
        3: cand(3, brand="a"),
        4: cand(4, brand="z", category="d"),
    }
    order, moved = rerank([1, 2, 3, 4], items, DEFAULTS["browse"], Signals())
    assert order.index(4) < 3
    assert moved[4].reasons == ("more brands and categories first",)


def test_support_and_zero_strength_do_not_reorder():
    items = {1: cand(1, stock=False), 2: cand(2)}
    assert rerank([1, 2], items, DEFAULTS["support"], Signals()) == ([1, 2], {})
    assert rerank([1, 2], items, Behaviour(in_stock=1.0, strength=0.0), Signals()) == ([1, 2], {})
    assert DEFAULTS["support"].answers_first


def test_browse_breaks_equal_scores_by_the_earlier_place():
    # equal relevance: each round takes the earliest item among those with the fewest of its
    # brand and category already placed
    items = {
        pk: cand(pk, brand=b, category=c)
        for pk, b, c in [
            (1, "x", "c1"),
            (2, "x", "c1"),
            (3, "y", "c2"),
            (4, "y", "c1"),
            (5, "z", "c3"),
        ]
    }
    flat = dict.fromkeys(items, 0.5)
    assert intent_actions._diversified([1, 2, 3, 4, 5], items, flat) == [1, 3, 5, 2, 4]
