"""The fusion-weight tuner on synthetic validation users: a noise source ends at 0, a perfect one
keeps a weight, and the vectorised fusion ranks as ``reciprocal_rank_fusion`` does."""

from __future__ import annotations

import numpy as np
import pytest

from recommend.engine.fusion import reciprocal_rank_fusion
from training.ml.fusion_tuning import build_fusion_data, tune_weights

CATALOGUE = 2000


def synthetic(users=150, seed=0):
    """Each user has 5 held-out items. ``perfect`` ranks them 1-5; ``noise`` lists 100 random
    products; ``weak`` hides one of them at rank 40 among random ones."""
    rng = np.random.default_rng(seed)
    lists, relevant = {}, {}
    for u in range(users):
        held = [int(i) for i in rng.choice(CATALOGUE, 5, replace=False)]
        others = [int(i) for i in rng.permutation(CATALOGUE) if int(i) not in held]
        weak = others[100:199]
        weak.insert(39, held[0])
        lists[u] = {
            "perfect": held + others[:95],
            "noise": [int(i) for i in rng.permutation(CATALOGUE)[:100]],
            "weak": weak,
        }
        relevant[u] = set(held)
    return lists, relevant


def test_a_noise_source_is_switched_off_and_a_perfect_one_kept():
    lists, relevant = synthetic()
    data = build_fusion_data(lists, relevant, sources=("noise", "perfect", "weak"), rrf_k=60)
    start = {"noise": 1.0, "perfect": 1.0, "weak": 1.0}
    result = tune_weights(data, start, k=20)
    assert result.weights["noise"] == 0.0
    assert result.weights["perfect"] == 1.0  # scaled back to the heaviest starting weight
    assert result.ndcg > result.start_ndcg  # noise at weight 1 pushed held-out items down
    assert result.ndcg == pytest.approx(1.0)  # the perfect source alone ranks them 1-5
    # Every weight set tried is reported with its figure; the chosen one is among them.
    assert len(result.tried) > 3 and all(
        {"weights", "ndcg", "recall"} <= set(t) for t in result.tried
    )
    assert max(t["ndcg"] for t in result.tried) == pytest.approx(result.ndcg)
    # Removing the perfect source costs everything; the record says so.
    assert result.without["perfect"] < 0.2
    assert result.as_dict()["before"]["ndcg@20"] == round(result.start_ndcg, 4)


def test_a_source_that_adds_nothing_ends_at_zero_even_when_harmless():
    """``weak`` only repeats a held-out item that ``perfect`` ranks first anyway: once its junk
    is outweighed, its removal does not lower NDCG, so it is switched off rather than left at
    a small weight."""
    lists, relevant = synthetic(seed=1)
    data = build_fusion_data(lists, relevant, sources=("perfect", "weak"), rrf_k=60)
    result = tune_weights(data, {"perfect": 1.0, "weak": 1.0}, k=20)
    assert result.weights["weak"] == 0.0 and result.weights["perfect"] > 0
    assert result.ndcg == pytest.approx(1.0) and result.without == {"perfect": 0.0}


def test_the_fused_ranking_is_reciprocal_rank_fusion():
    rng = np.random.default_rng(3)
    lists = {
        0: {
            "a": [int(i) for i in rng.permutation(300)[:100]],
            "b": [int(i) for i in rng.permutation(300)[:80]],
        }
    }
    weights = {"a": 0.5, "b": 2.0}
    fused = reciprocal_rank_fusion(
        {name: [(i, 0.0) for i in items] for name, items in lists[0].items()}, weights, k=60
    )
    top = [f.id for f in fused[:20]]
    # The tuner's NDCG counts exactly the items RRF puts in the top 20.
    for held in (set(top[:3]), set(top[15:20]), {fused[25].id}):
        data = build_fusion_data(lists, {0: held}, sources=("a", "b"), rrf_k=60)
        recall, _ = data.evaluate(weights, 20)
        assert recall == pytest.approx(sum(i in top for i in held) / len(held))


def test_excluded_items_are_never_ranked_and_users_without_held_out_items_are_skipped():
    lists = {0: {"a": [1, 2, 3]}, 1: {"a": [4, 5]}}
    data = build_fusion_data(lists, {0: {2, 3}, 1: {5}}, sources=("a",), exclude={0: {1}, 1: {5}})
    assert data.users == [0]
    recall, ndcg = data.evaluate({"a": 1.0}, 1)
    assert recall == 0.5 and ndcg == 1.0  # item 1 is gone, 2 is first
