"""The offline fusions of ``bench/_fusion_learned.py`` rank as the served fusion does (plain
Python, no database): its figures are only worth something if the default setting, vectorised
over a grid or written as a linear score, is the default hybrid query by query, ties included."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench._fusion_learned import (
    DEFAULT,
    DEFAULT_WEIGHTS,
    above_cosine,
    candidates,
    cv_rule,
    grid_ndcg,
    learned_ndcg,
    served,
)
from training.ml.metrics import ndcg_at_k
from training.ml.search_fusion import FusionSetting, QueryLists, fused_ids


def random_query(rng: random.Random, pool: int = 40):
    """Lists drawn from a small pool (many products in two lists, many RRF ties), graded
    judgments over part of the pool."""
    ids = [f"p{i}" for i in range(pool)]
    full = rng.sample(ids, rng.randint(0, 12))
    partial = rng.sample([i for i in ids if i not in full], rng.randint(0, 12))
    semantic = rng.sample(ids, rng.randint(5, 30))
    cos = sorted((rng.uniform(-0.1, 0.8) for _ in semantic), reverse=True)
    lists = QueryLists(
        lexical=full,
        partial=partial,
        semantic=semantic,
        lexical_scores=sorted((rng.uniform(1, 9) for _ in full), reverse=True),
        partial_scores=sorted((rng.uniform(0.5, 3) for _ in partial), reverse=True),
        semantic_scores=cos,
    )
    gains = {i: float(rng.randint(0, 3)) for i in rng.sample(ids, 15)}
    return lists, gains


@pytest.mark.parametrize(
    "setting",
    [DEFAULT, (10, 10, 10, 0.3, 0.0, 0.0, 10), (120, 120, 120, 0.7, 1.0, 0.3, 30)],
)
def test_the_grid_fusion_is_fused_ids(setting):
    k, _, _, share, partial_weight, min_cos, depth = setting
    rng = random.Random(5)
    for _ in range(60):
        lists, gains = random_query(rng)
        expected = ndcg_at_k(
            fused_ids(
                above_cosine(lists, min_cos),
                FusionSetting.from_share(int(k), share, semantic_depth=int(depth)),
                partial_weight=partial_weight,
            ),
            gains,
            10,
        )
        assert grid_ndcg(candidates(lists, gains), [setting])[0] == pytest.approx(
            expected, abs=1e-12
        )


def test_the_default_weights_are_the_default_hybrid():
    rng = random.Random(7)
    got, expected = [], []
    for _ in range(80):
        lists, gains = random_query(rng)
        got.append(learned_ndcg([served(candidates(lists, gains), 0.2)], DEFAULT_WEIGHTS)[0])
        expected.append(
            ndcg_at_k(fused_ids(above_cosine(lists, 0.2), FusionSetting(60, 1.0, 1.0)), gains, 10)
        )
    assert got == pytest.approx(expected, abs=1e-12)


def test_the_cv_rule_keeps_the_default_on_noise():
    rng = random.Random(11)
    queries = [served(candidates(*random_query(rng)), 0.2) for _ in range(60)]

    def noise_fit(_queries):
        return np.random.default_rng(len(_queries)).normal(size=len(DEFAULT_WEIGHTS))

    weights, _mean, bound = cv_rule(queries, noise_fit, seed=1)
    assert bound <= 0
    assert np.array_equal(weights, DEFAULT_WEIGHTS)
