"""recommend.engine.exploration: Thompson sampling slots for barely-shown products."""

import numpy as np
import pytest

from recommend.engine.exploration import (
    ExplorationPolicy,
    explore_positions,
    interleave,
    thompson_pick,
)


def test_policy_slots_and_validation():
    assert ExplorationPolicy().slots(10) == 0  # off by default
    policy = ExplorationPolicy(share=0.2)
    assert policy.slots(10) == 2 and policy.slots(3) == 1 and policy.slots(2) == 0
    assert ExplorationPolicy(share=0.01).slots(10) == 1  # on means at least one slot
    for bad in ({"share": 0.9}, {"share": -0.1}, {"prior_ctr": 0}, {"max_impressions": 0}):
        with pytest.raises(ValueError):
            ExplorationPolicy(**bad)


def test_positions_spread_and_never_take_the_top_slots():
    assert explore_positions(10, 2, 3) == [4, 8]  # 0-based: slots 5 and 9 of 10
    assert explore_positions(10, 1, 3) == [6]
    assert explore_positions(4, 5, 3) == [2, 3]  # no more than the room after first_position
    assert explore_positions(10, 0, 3) == []


def test_thompson_favours_clicked_products_and_retires_exposed_ones():
    policy = ExplorationPolicy(share=0.2, max_impressions=100, prior_ctr=0.05)
    candidates = {
        "clicked": (40, 10),  # CTR 25 %: the posterior sits well above the prior
        "ignored": (90, 0),  # many impressions, no click: draws low
        "new": (0, 0),  # the prior
        "retired": (500, 200),  # has left the pool however good it is
    }
    rng = np.random.default_rng(7)
    wins: dict[str, int] = {}
    for _ in range(2000):
        [(top, draw)] = thompson_pick(candidates, 1, policy, rng)
        assert 0.0 < draw < 1.0
        wins[top] = wins.get(top, 0) + 1
    assert "retired" not in wins
    assert wins["clicked"] > 1800  # the evidence wins almost always
    assert wins.get("new", 0) > wins.get("ignored", 0)  # the prior beats proven disinterest
    assert thompson_pick(candidates, 0, policy, rng) == []
    assert thompson_pick({"x": (3, 5)}, 2, policy, rng)[0][0] == "x"  # clicks > impressions


def test_interleave_places_explored_items_and_keeps_earned_order():
    ranked = ["a", "b", "c", "d", "e", "f"]
    out = interleave(ranked, ["n1", "n2"], 6, 3)
    assert out == [
        ("a", False),
        ("b", False),
        ("c", False),
        ("n1", True),
        ("d", False),
        ("n2", True),
    ]
    assert [i for i, (_, explored) in enumerate(out) if explored] == explore_positions(6, 2, 3)
    # an explored item that earned a place stays there, unflagged; a short list is filled
    assert interleave(["a", "n1"], ["n1", "n2"], 4, 3) == [
        ("a", False),
        ("n1", False),
        ("n2", True),
    ]
