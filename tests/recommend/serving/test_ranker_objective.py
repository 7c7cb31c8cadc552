"""The strategy's ranker objective at serving: a two-headed ranker orders search results by
clicks, purchases or a blend as the strategy says; a single-head ranker saved before the heads
keeps serving whatever the strategy says."""

from __future__ import annotations

import numpy as np
import pytest

from recommend import services
from recommend.models import Strategy
from recommend.serving.features import EXTRA_FEATURES
from tests.factories.training import ModelVersionFactory
from training.ml.ranker import FEATURES, RankerScorer
from training.ml.ranker_heads import TwoHeadScorer

pytestmark = pytest.mark.django_db

NAMES = FEATURES + EXTRA_FEATURES


def _weights(**named: float) -> np.ndarray:
    return np.array([[named.get(name, 0.0) for name in NAMES]], dtype=np.float32)


def _activate(scorer, tmp_path) -> None:
    scorer.save(tmp_path / "ranker")
    ModelVersionFactory(
        task="ranker", is_active=True, artifact_dir=str(tmp_path / "ranker"), name="test ranker"
    )
    services.config_changed()


def _set_objective(operator_user, objective: str, weight: float = 0.5) -> None:
    strategy = Strategy.objects.get(surface="search", is_default=True)
    strategy.ranker_objective, strategy.ranker_purchase_weight = objective, weight
    services.strategy_save(
        strategy=strategy,
        actor=operator_user,
        changed=["ranker_objective", "ranker_purchase_weight"],
    )


def _prices(storefront, query: str) -> list[float]:
    body = storefront.get("/api/v1/search", {"q": query}).json()
    assert body["results"] and all(r["explanation"]["ranker"] for r in body["results"])
    return [float(r["product"]["price"]) for r in body["results"]]


def test_the_strategy_objective_orders_by_clicks_or_purchases(
    storefront, serving_store, operator_user, tmp_path
):
    # shoppers click the dear headphones (click head) but buy the cheap ones (conversion head)
    _activate(
        TwoHeadScorer(
            NAMES,
            np.zeros(len(NAMES)),
            np.ones(len(NAMES)),
            [],
            (_weights(log_price=1.0), np.array([-5.0])),
            (_weights(log_price=-3.0), np.array([13.5])),
        ),
        tmp_path,
    )
    _set_objective(operator_user, "click")
    by_clicks = _prices(storefront, "headphones")
    assert by_clicks == sorted(by_clicks, reverse=True)
    _set_objective(operator_user, "purchase")
    by_purchases = _prices(storefront, "headphones")
    assert by_purchases == sorted(by_purchases)
    assert by_purchases != by_clicks
    _set_objective(operator_user, "blend", 0.0)
    assert _prices(storefront, "headphones") == by_clicks


def test_a_single_head_ranker_serves_under_every_objective(
    storefront, serving_store, operator_user, tmp_path
):
    _activate(
        RankerScorer(
            NAMES,
            np.zeros(len(NAMES)),
            np.ones(len(NAMES)),
            [(_weights(log_price=-1.0), np.array([0.0], dtype=np.float32))],
        ),
        tmp_path,
    )
    orders = []
    for objective in ("click", "purchase", "blend"):
        _set_objective(operator_user, objective)
        orders.append(_prices(storefront, "headphones"))
    assert orders[0] == sorted(orders[0]) and orders[0] == orders[1] == orders[2]
