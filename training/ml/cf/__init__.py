"""Collaborative filtering on shopper-product interactions: popularity, cosine item-kNN, EASE,
implicit ALS and BPR behind one interface (``models``), evaluated as the recommender
literature does (``evaluation``) and selected on validation (``selection``).

Serving only needs ``load_cf_model`` (numpy and scipy); fitting ALS and BPR uses ``implicit``.
"""

from __future__ import annotations

from training.ml.cf.data import Interactions, build_interactions
from training.ml.cf.evaluation import evaluable_users, evaluate_cf, sanity
from training.ml.cf.models import (
    BPRMF,
    EASE,
    CFModel,
    ImplicitMF,
    ItemItemCF,
    PopularityModel,
    load_cf_model,
)
from training.ml.cf.selection import (
    Candidate,
    SearchSpace,
    candidate_count,
    recorded_recipe,
    refit,
    search_space,
    select,
    skipped_families,
)


def popularity(interactions: Interactions) -> PopularityModel:
    """The popularity baseline, fitted (shorthand for ``PopularityModel.fit``)."""
    return PopularityModel.fit(interactions)


__all__ = [
    "BPRMF",
    "EASE",
    "CFModel",
    "Candidate",
    "ImplicitMF",
    "Interactions",
    "ItemItemCF",
    "PopularityModel",
    "SearchSpace",
    "build_interactions",
    "candidate_count",
    "evaluable_users",
    "evaluate_cf",
    "load_cf_model",
    "popularity",
    "recorded_recipe",
    "refit",
    "sanity",
    "search_space",
    "select",
    "skipped_families",
]
