"""The fusion the tune_search job chooses must hold on queries it did not see: a setting is
chosen only when the lower confidence bound of its per-query gain over the start setting is
above zero, each source of validation queries weighing the same (plain Python)."""

from __future__ import annotations

import random

import pytest

from training.ml.search_fusion import (
    FusionSetting,
    QueryLists,
    gain_bound,
    mean_ndcg,
    tune_search_fusion,
)

DEFAULTS = FusionSetting(60, 1.0, 1.0)


def noise_store(n_queries: int, seed: int):
    """Both retrievers return the 3 relevant ids of each query at random places of a random
    list: no fusion setting is better than another but by chance."""
    rng = random.Random(seed)
    lists, judgments = {}, {}
    for q in range(n_queries):
        ids = [f"{q}-{i}" for i in range(60)]
        lists[f"q{q}"] = QueryLists(lexical=rng.sample(ids, 30), semantic=rng.sample(ids, 30))
        judgments[f"q{q}"] = {ids[i]: float(rng.randint(1, 3)) for i in range(3)}
    return lists, judgments


def test_a_setting_that_only_wins_by_chance_falls_back_to_the_start():
    lists, judgments = noise_store(40, seed=11)
    best = tune_search_fusion(lists, judgments, start=DEFAULTS)
    assert best.chosen != DEFAULTS and best.ndcg > best.start_ndcg  # the overfit pick
    held_out, truth = noise_store(400, seed=12)
    assert mean_ndcg(held_out, truth, best.chosen) <= mean_ndcg(held_out, truth, DEFAULTS) + 0.01

    lcb = tune_search_fusion(lists, judgments, start=DEFAULTS, select="lcb")
    assert lcb.fell_back and lcb.chosen == DEFAULTS and lcb.ndcg == lcb.start_ndcg
    assert "no setting is clearly better" in lcb.reason and "40 validation queries" in lcb.reason
    assert len(lcb.tried) == 19 and all(t["lcb"] <= 0 for t in lcb.tried)  # start not again


def planted(n_queries: int, seed: int):
    """The lexical list ranks the 5 relevant ids first, the semantic one is noise."""
    rng = random.Random(seed)
    lists, judgments = {}, {}
    for q in range(n_queries):
        ids = [f"{q}-{i}" for i in range(200)]
        good = ids[:5] + rng.sample(ids[5:], 45)
        lists[f"q{q}"] = QueryLists(lexical=good, semantic=rng.sample(ids, 50))
        judgments[f"q{q}"] = dict.fromkeys(ids[:5], 2.0)
    return lists, judgments


def test_a_clearly_better_setting_is_chosen_with_its_bound():
    lists, judgments = planted(30, seed=3)
    result = tune_search_fusion(lists, judgments, start=DEFAULTS, select="lcb")
    assert not result.fell_back
    assert result.chosen.lexical_weight == 1.0 and result.chosen.semantic_weight < 0.5
    assert 0 < result.lower_bound < result.gain and result.ndcg > result.start_ndcg + 0.1
    assert "lower bound" in result.reason


def test_each_source_of_queries_weighs_the_same():
    gains = {f"s{i}": 0.10 + 0.001 * (i % 3) for i in range(200)}
    gains |= {f"j{i}": -0.30 + 0.01 * (i % 2) for i in range(10)}
    groups = {q: q[0] for q in gains}
    pooled_mean, pooled_bound = gain_bound(gains)
    mean, bound = gain_bound(gains, groups)
    assert pooled_mean > 0.08 and pooled_bound > 0  # 200 synthetic queries outvote 10 judged
    assert mean == pytest.approx((0.101 - 0.295) / 2, abs=1e-3) and bound < mean < 0
    # one query of a source: its spread is unknown, so nothing is clearly better
    assert gain_bound({"a": 0.5}) == (0.5, float("-inf"))


def test_unknown_selection_is_refused():
    with pytest.raises(ValueError, match="select must be one of"):
        tune_search_fusion({}, {}, start=DEFAULTS, select="max")


def peaked(n_queries: int, seed: int):
    """Each query's relevant id is far ahead of one list's other scores, 5th in the other list,
    whose first is a distractor (2nd in the first list) that lists' scores barely tell apart:
    half the queries the lexical list is the sure one, half the semantic one. Rank fusion sees
    mirror images (no share serves both halves); the scores tell them apart."""
    rng = random.Random(seed)
    lists, judgments = {}, {}
    for q in range(n_queries):
        ids = [f"{q}-{i}" for i in range(40)]
        good, distractor, rest = ids[0], ids[1], ids[2:]
        sure = [good, distractor, *rng.sample(rest, 18)]
        sure_scores = [10.0] + [1.0 - 0.01 * i for i in range(19)]
        flat = [distractor, *rng.sample(rest, 3), good, *rng.sample(rest, 15)]
        flat = list(dict.fromkeys(flat))
        flat_scores = [0.5 - 0.001 * i for i in range(len(flat))]
        if q % 2:
            lists[f"q{q}"] = QueryLists(
                lexical=sure, semantic=flat, lexical_scores=sure_scores, semantic_scores=flat_scores
            )
        else:
            lists[f"q{q}"] = QueryLists(
                lexical=flat, semantic=sure, lexical_scores=flat_scores, semantic_scores=sure_scores
            )
        judgments[f"q{q}"] = {good: 2.0}
    return lists, judgments


def test_the_wide_lcb_grid_can_choose_the_convex_fusion_and_says_so():
    lists, judgments = peaked(40, seed=5)
    ranks_only = tune_search_fusion(lists, judgments, start=DEFAULTS, select="lcb")
    wide = tune_search_fusion(lists, judgments, start=DEFAULTS, select="lcb", wide=True)
    assert len(ranks_only.tried) == 19 and len(wide.tried) == 24
    assert wide.chosen.method == "convex" and not wide.fell_back
    assert wide.ndcg > ranks_only.ndcg + 0.2 and wide.lower_bound > 0
    assert wide.reason.startswith("the convex fusion, ")
    # without each list's scores the wide grid holds rank fusions only
    unscored = {q: QueryLists(lexical=v.lexical, semantic=v.semantic) for q, v in lists.items()}
    assert (
        len(tune_search_fusion(unscored, judgments, start=DEFAULTS, select="lcb", wide=True).tried)
        == 19
    )
