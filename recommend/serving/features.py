"""The ranker's features and scores at serving, and the popularity signal they use."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from recommend.engine import intent_actions
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
#: Then the signals intent acts on (``recommend.engine.intent_actions``), so the ranker — its
#: purchase head above all — can learn them from what shoppers did: ``in_stock`` (1 / 0),
#: ``rating`` (the rating confidence × Bayesian mean, in [0, 1]; 0 unrated) and
#: ``price_match`` (1 inside the list's own price band for the item's category — the middle
#: half of the first candidates' prices there — decaying outside; 0.5 without a band). A ranker
#: saved before them lists its own features and is served with those alone.
EXTRA_FEATURES = ("fusion_score", "in_stock", "rating", "price_match")


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


def rating_signal(count: int, mean: float) -> float:
    """What intent's *review* behaviour favours, in [0, 1]: confidence (more ratings) times
    the Bayesian mean (``intent_actions``); 0 for an unrated product."""
    if count <= 0:
        return 0.0
    confidence = count / (count + intent_actions.RATING_PRIOR_COUNT)
    return confidence * (0.5 + 0.5 * intent_actions.bayes_rating(count, mean))


def price_matches(candidates: Sequence[int], products: Mapping[int, Any]) -> list[float]:
    """Each candidate's price match against the list's own band for its category
    (``intent_actions.query_bands`` over the candidates in their order)."""
    items = [
        intent_actions.Candidate(
            id=pk,
            in_stock=True,
            price=float(products[pk].price or 0.0),
            category=products[pk].category_id,
            brand=None,
        )
        for pk in candidates
        if pk in products
    ]
    bands = intent_actions.query_bands(items)
    by_id = {item.id: item for item in items}
    out = []
    for pk in candidates:
        item = by_id.get(pk)
        if item is None:
            out.append(0.5)
            continue
        out.append(intent_actions.price_match(item.price, bands.get(item.category)))
    return out


def feature_dicts(
    candidates: Sequence[int],
    inputs: FeatureInputs,
    prices: Mapping[int, float],
    popularity: Mapping[int, float],
    *,
    products: Mapping[int, Any] | None = None,
    ratings: Mapping[int, tuple[int, float]] | None = None,
) -> list[dict[str, float]]:
    """The ranker's features (``training.ml.ranker.FEATURES`` and :data:`EXTRA_FEATURES`) for
    each candidate; ``position`` is left out, i.e. fixed at serving. ``products``: rows with
    ``in_stock``, ``price`` and ``category_id`` (``retrievers.ProductRow``); ``ratings``:
    ``{id: (count, mean)}`` (the aggregates', or as of a list's time in training)."""
    fused = fusion_within(candidates, inputs.lexical, inputs.semantic)
    products = products or {}
    ratings = ratings or {}
    matches = price_matches(candidates, products)
    return [
        {
            "fusion_score": fused[i],
            "lexical_score": float(inputs.lexical.get(pk, 0.0)),
            "semantic_score": float(inputs.semantic.get(pk, 0.0)),
            "profile_similarity": float(inputs.profile.get(pk, 0.0)),
            "cf_score": float(inputs.cf.get(pk, 0.0)),
            "popularity": float(popularity.get(pk, 0.0)),
            "log_price": math.log1p(max(0.0, float(prices.get(pk, 0.0)))),
            "in_stock": 1.0 if pk not in products or products[pk].in_stock else 0.0,
            "rating": rating_signal(*ratings.get(pk, (0, 0.0))),
            "price_match": matches[i],
        }
        for i, pk in enumerate(candidates)
    ]


def product_ratings() -> Mapping[int, tuple[int, float]]:
    """Rating counts and means per product from the current aggregates (beat keeps them)."""
    return aggregates.current().ratings


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
