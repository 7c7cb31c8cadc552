"""Choosing the search fusion on validation queries (plain Python, no database)."""

from __future__ import annotations

import random

import pytest

from training.ml.search_fusion import (
    FusionSetting,
    QueryLists,
    fused_ids,
    fusion_ceiling,
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


def confident(n_queries: int = 40, seed: int = 5):
    """Per query one relevant id, returned by one retriever only and far ahead of that list's
    other scores; the other retriever's first hit is a distractor in a flat list. Which one is
    right changes from query to query: no rank fusion can tell (both are first of a list), the
    scores can."""
    rng = random.Random(seed)
    lists, judgments = {}, {}
    for q in range(n_queries):
        ids = [f"{q}-{i}" for i in range(100)]
        right, wrong = ids[1], ids[0]  # a tie between them goes to the lower id: wrong
        flat_lex = [2.0 - i * 0.01 for i in range(30)]
        flat_sem = [0.5 - i * 0.001 for i in range(30)]
        lex_ids = [right, *ids[2:31]] if q % 2 else [wrong, *ids[31:60]]
        sem_ids = [wrong, *ids[60:89]] if q % 2 else [right, *ids[2:31]]
        lex_scores = [10.0, *[1.0 + rng.random() * 0.1 for _ in range(29)]] if q % 2 else flat_lex
        sem_scores = flat_sem if q % 2 else [0.9, *[0.3 + rng.random() * 0.01 for _ in range(29)]]
        lists[f"q{q}"] = QueryLists(
            lexical=lex_ids, semantic=sem_ids, lexical_scores=lex_scores, semantic_scores=sem_scores
        )
        judgments[f"q{q}"] = {right: 3.0}
    return lists, judgments


def test_the_wide_grid_chooses_a_score_fusion_that_rank_fusion_cannot_match():
    lists, judgments = confident()
    narrow = tune_search_fusion(lists, judgments, start=DEFAULTS)
    wide = tune_search_fusion(lists, judgments, start=DEFAULTS, wide=True)
    assert narrow.ndcg < 0.85  # half the queries have the right id second, whatever k or share
    assert wide.chosen.method == "convex" and wide.ndcg == pytest.approx(1.0)
    held_out, truth = confident(seed=6)
    assert mean_ndcg(held_out, truth, wide.chosen) > mean_ndcg(held_out, truth, narrow.chosen) + 0.1
    # lists without scores: the convex fusion is not tried, nor can it be asked for
    bare = {q: QueryLists(lexical=v.lexical, semantic=v.semantic) for q, v in lists.items()}
    assert tune_search_fusion(bare, judgments, start=DEFAULTS, wide=True).chosen.method == "rrf"
    with pytest.raises(ValueError):
        fused_ids(bare["q0"], FusionSetting(60, 1.0, 1.0, method="convex"))


def test_depth_cuts_each_list_and_the_wide_grid_holds_the_narrow_one():
    lists = QueryLists(lexical=["a", "b"], partial=["c"], semantic=["d", "e", "f"])
    assert fused_ids(lists, FusionSetting(1, 1.0, 1.0, lexical_depth=1, semantic_depth=1)) == [
        "a",
        "d",
    ]
    assert set(fused_ids(lists, FusionSetting(1, 1.0, 1.0, lexical_depth=3))) == set("abcdef")
    planted_lists, judgments = planted("lexical")
    narrow = tune_search_fusion(planted_lists, judgments, start=DEFAULTS)
    wide = tune_search_fusion(planted_lists, judgments, start=DEFAULTS, wide=True)
    assert wide.ndcg >= narrow.ndcg and len(wide.tried) > len(narrow.tried)


def test_the_ceiling_is_the_best_fixed_setting_and_the_per_query_oracle_above_it():
    """Half the queries are answered by the lexical list, half by the semantic one: one share
    for all serves a half well (a mean below 1), a choice per query serves every query (1.0)."""
    lexical_lists, lexical_truth = planted("lexical", n_queries=10, seed=5)
    semantic_lists, semantic_truth = planted("semantic", n_queries=6, seed=6)
    lists = {f"l{q}": v for q, v in lexical_lists.items()}
    lists |= {f"s{q}": v for q, v in semantic_lists.items()}
    truth = {f"l{q}": v for q, v in lexical_truth.items()}
    truth |= {f"s{q}": v for q, v in semantic_truth.items()}
    settings = [FusionSetting.from_share(60, s) for s in (0.0, 0.5, 1.0)]
    ceiling = fusion_ceiling(lists, truth, settings)
    assert ceiling.queries == 16
    assert ceiling.oracle_ndcg == pytest.approx(1.0)
    # lexical only: the 10 lexical queries perfect, the semantic ones near 0
    assert ceiling.best == settings[2]
    assert ceiling.best_ndcg == pytest.approx(mean_ndcg(lists, truth, settings[2]))
    assert 10 / 16 <= ceiling.best_ndcg < 0.8 < ceiling.oracle_ndcg
    for setting in settings:
        assert mean_ndcg(lists, truth, setting) <= ceiling.best_ndcg + 1e-12
    # ties go to the earlier setting; no query, no ceiling to speak of
    k10 = FusionSetting.from_share(10, 1.0)  # lexical only: the same lists as at k 60
    assert fusion_ceiling(lists, truth, [k10, settings[2]]).best == k10
    assert fusion_ceiling(lists, truth, [settings[2], k10]).best == settings[2]
    assert fusion_ceiling({}, {}, settings).queries == 0
    with pytest.raises(ValueError):
        fusion_ceiling(lists, truth, [])
