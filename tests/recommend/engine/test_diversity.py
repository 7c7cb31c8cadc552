"""Group caps and maximal marginal relevance."""

import numpy as np
import pytest

from recommend.engine.diversity import cap_by_group, mmr


def test_cap_by_group_limits_each_groups_share():
    items = [
        ("a1", "A"),
        ("a2", "A"),
        ("a3", "A"),
        ("a4", "A"),
        ("b1", "B"),
        ("b2", "B"),
        ("c1", "C"),
    ]
    picked = cap_by_group(items, lambda it: it[1], max_share=0.5, size=4)
    assert [name for name, _ in picked] == ["a1", "a2", "b1", "b2"]


def test_cap_by_group_backfills_when_groups_run_out():
    items = [(f"a{i}", "A") for i in range(5)] + [("b0", "B")]
    picked = cap_by_group(items, lambda it: it[1], max_share=0.34, size=4)
    # cap is 1 per group: a0 and b0 pass, then a1 and a2 fill the list in original order
    assert [name for name, _ in picked] == ["a0", "b0", "a1", "a2"]


def test_cap_by_group_short_input_and_validation():
    assert cap_by_group([], lambda x: x, 0.5, 10) == []
    assert cap_by_group([1, 2], lambda x: x % 2, 0.5, 10) == [1, 2]
    with pytest.raises(ValueError):
        cap_by_group([1], lambda x: x, 0, 1)


def test_mmr_skips_a_near_duplicate():
    vectors = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0]])
    picked = mmr(["a", "a-copy", "b"], [1.0, 0.95, 0.9], vectors, lambda_=0.5, size=3)
    assert picked == ["a", "b", "a-copy"]


def test_mmr_with_lambda_one_keeps_relevance_order():
    rng = np.random.default_rng(0)
    relevance = rng.random(20)
    picked = mmr(list(range(20)), relevance, rng.normal(size=(20, 8)), lambda_=1.0, size=5)
    assert picked == list(np.argsort(-relevance)[:5])


def test_mmr_validates_shapes_and_handles_size():
    with pytest.raises(ValueError):
        mmr([1, 2], [1.0], np.zeros((2, 3)), 0.5, 2)
    assert mmr([1, 2], [1.0, 1.0], np.zeros((2, 3)), 0.5, 0) == []
    assert len(mmr([1, 2], [1.0, 0.5], np.eye(2), 0.5, 10)) == 2
