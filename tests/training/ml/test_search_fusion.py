"""Choosing the search fusion on validation queries (plain Python, no database)."""

from __future__ import annotations

import random

import pytest

from training.ml.search_fusion import (
    FusionSetting,
    QueryLists,
    fused_ids,
    mean_ndcg,
    split_queries,
    tune_search_fusion,
)

DEFAULTS = FusionSetting(60, 1.0, 1.0)


def planted(useful: str, n_queries: int = 40, seed: int = 3):
    """Per query, 5 relevant ids among 200: the ``useful`` retriever ranks them first, the other
    one returns a random order."""
    rng = random.Random(seed)
    lists, judgments = {}, {}
    for q in range(n_queries):
        ids = [f"{q}-{i}" for i in range(200)]
        relevant = ids[:5]
        good = relevant + rng.sample(ids[5:], 45)
        bad = rng.sample(ids, 50)
        lexical, semantic = (good, bad) if useful == "lexical" else (bad, good)
        lists[f"q{q}"] = QueryLists(lexical=lexical, semantic=semantic)
        judgments[f"q{q}"] = dict.fromkeys(relevant, 2.0)
    return lists, judgments


@pytest.mark.parametrize("useful", ["lexical", "semantic"])
def test_the_noise_retriever_is_weighted_down(useful):
    lists, judgments = planted(useful)
    result = tune_search_fusion(lists, judgments, start=DEFAULTS)
    assert result.ndcg > result.start_ndcg + 0.1
    chosen = result.chosen
    if useful == "lexical":
        assert chosen.lexical_weight == 1.0 and chosen.semantic_weight < 0.5
    else:
        assert chosen.semantic_weight == 1.0 and chosen.lexical_weight < 0.5
    # Better on queries it did not see too.
    held_out, truth = planted(useful, seed=4)
    assert mean_ndcg(held_out, truth, chosen) > mean_ndcg(held_out, truth, DEFAULTS) + 0.1


def test_ties_keep_the_settings_in_place():
    lists = {"q": QueryLists(lexical=["a", "b"], semantic=["a", "b"])}
    judgments = {"q": {"a": 3.0}}
    start = FusionSetting(17, 0.3, 0.7)
    result = tune_search_fusion(lists, judgments, start=start)
    assert result.chosen == start and result.ndcg == 1.0


def test_fused_order_follows_serving_partial_weight_and_k():
    lists = QueryLists(lexical=["a"], partial=["b"], semantic=["b", "c"])
    # b: 0.5/(1+1) + 1/(1+1) = 0.75 beats a: 1/(1+1) = 0.5; c: 1/(1+2).
    assert fused_ids(lists, FusionSetting(1, 1.0, 1.0)) == ["b", "a", "c"]
    assert fused_ids(lists, FusionSetting(1, 1.0, 0.0)) == ["a", "b"]


def test_shares_and_splits():
    assert FusionSetting.from_share(60, 0.8) == FusionSetting(60, 1.0, 0.25)
    assert FusionSetting.from_share(60, 0.0) == FusionSetting(60, 0.0, 1.0)
    valid, test = split_queries([f"q{i}" for i in range(10)], seed=1)
    assert len(valid) == len(test) == 5 and not set(valid) & set(test)
    assert (valid, test) == split_queries([f"q{i}" for i in reversed(range(10))], seed=1)
