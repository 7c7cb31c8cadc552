"""The ranker's features and scores at serving, and the popularity signal they use."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from recommend.selectors import ServedModels, StrategyConfig
from recommend.serving import aggregates, loaders


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class FeatureInputs:
    """Per-candidate signals; missing entries count as 0 (the ranker's convention)."""

    lexical: Mapping[int, float] = field(default_factory=dict)
    semantic: Mapping[int, float] = field(default_factory=dict)
    profile: Mapping[int, float] = field(default_factory=dict)
    cf: Mapping[int, float] = field(default_factory=dict)


#: The ranker's features: ``training.ml.ranker.FEATURES`` plus ``fusion_score`` — the
#: reciprocal rank fusion of the candidates' lexical and semantic scores within the list being
#: ranked. Without it a linear model over raw ``ts_rank_cd`` and cosine values could not even
#: reproduce the fusion order it replaces (on the simulated search log it lost to fusion).
EXTRA_FEATURES = ("fusion_score",)


def fusion_within(
    candidates: Sequence[int],
    lexical: Mapping[int, float],
    semantic: Mapping[int, float],
    k: int = 60,
) -> list[float]:
    """RRF of the lexical and the semantic ranking of ``candidates`` among themselves (an item a
    retriever scores 0 gets nothing from it)."""
    score = dict.fromkeys(candidates, 0.0)
    for source in (lexical, semantic):
        ranked = sorted(
            (pk for pk in candidates if source.get(pk, 0.0) > 0), key=lambda pk: -source[pk]
        )
        for rank, pk in enumerate(ranked, start=1):
            score[pk] += 1.0 / (k + rank)
    return [score[pk] for pk in candidates]


def feature_dicts(
    candidates: Sequence[int],
    inputs: FeatureInputs,
    prices: Mapping[int, float],
    popularity: Mapping[int, float],
) -> list[dict[str, float]]:
    """The ranker's features (``training.ml.ranker.FEATURES`` and :data:`EXTRA_FEATURES`) for
    each candidate; ``position`` is left out, i.e. fixed at serving."""
    fused = fusion_within(candidates, inputs.lexical, inputs.semantic)
    return [
        {
            "fusion_score": fused[i],
            "lexical_score": float(inputs.lexical.get(pk, 0.0)),
            "semantic_score": float(inputs.semantic.get(pk, 0.0)),
            "profile_similarity": float(inputs.profile.get(pk, 0.0)),
            "cf_score": float(inputs.cf.get(pk, 0.0)),
            "popularity": float(popularity.get(pk, 0.0)),
            "log_price": math.log1p(max(0.0, float(prices.get(pk, 0.0)))),
        }
        for i, pk in enumerate(candidates)
    ]


def ranker_scores(
    models: ServedModels, features: list[dict[str, float]], strategy: StrategyConfig | None = None
) -> np.ndarray | None:
    """Probabilities from the strategy's ranker, or None when it has none: a single-head
    ranker's click probability; a two-headed one's ``pCTR · pCVR^w`` for the strategy's
    ``ranker_objective`` (click: pCTR, purchase: pCTCVR; ``training.ml.ranker_heads``)."""
    from training.ml.ranker_heads import serving_log_scores

    scorer = loaders.ranker_scorer(models.ranker)
    if scorer is None or not features:
        return None
    if strategy is None:
        return np.exp(serving_log_scores(scorer, features))
    return np.exp(
        serving_log_scores(
            scorer, features, strategy.ranker_objective, strategy.ranker_purchase_weight
        )
    )


def popularity(product_ids: Sequence[Hashable], now: datetime) -> dict[int, float]:
    """``log1p`` of decayed engagement (from the trending aggregates) per product."""
    table = aggregates.current(now).popularity
    return {pk: table[pk] for pk in product_ids if pk in table}
