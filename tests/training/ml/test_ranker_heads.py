"""The two-headed ranker (``training.ml.ranker_heads``): a click head and an ESMM purchase head
on shared features, their artifacts, the objectives serving combines them by, and old
single-head artifacts still loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.ml.ranker import RankerConfig, RankerRow, RankerScorer, train_ranker
from training.ml.ranker_heads import (
    BLEND_GRID,
    TwoHeadConfig,
    TwoHeadScorer,
    choose_blend,
    evaluate_heads,
    load_scorer,
    purchase_ndcg_per_list,
    serving_log_scores,
    train_two_headed,
)

FEATURES = ("semantic_score", "log_price", "position")


def planted_lists(n_lists: int, seed: int, reluctance: float = 0.5) -> list[RankerRow]:
    """Shoppers click what is relevant (``semantic_score``) whatever it costs, but buy what they
    clicked when it is cheap (``log_price``): purchases follow a signal clicks do not. The higher
    ``reluctance``, the rarer purchases."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(n_lists):
        for position in range(1, 11):
            relevance, log_price = rng.normal(), rng.normal(3.0, 0.6)
            click = rng.random() < 1 / (1 + np.exp(-(2.0 * relevance - 1.5)))
            bought = click and rng.random() < 1 / (1 + np.exp(4.0 * (log_price - 3.0) + reluctance))
            rows.append(
                RankerRow(
                    list_id=f"list-{n}",
                    features={
                        "semantic_score": relevance,
                        "log_price": log_price,
                        "position": float(position),
                    },
                    click=float(click),
                    engagement=3.0 if bought else 1.0 if click else 0.0,
                )
            )
    return rows


@pytest.fixture(scope="module")
def trained():
    train, test = planted_lists(200, seed=1), planted_lists(120, seed=2)
    one = train_ranker(train, RankerConfig(features=FEATURES, epochs=12))
    two = train_two_headed(train, TwoHeadConfig(features=FEATURES, epochs=12))
    return train, test, one, two


def test_purchase_head_ranks_purchases_better_than_the_single_head_ranker(trained):
    _, test, one, two = trained
    single, heads = evaluate_heads(one.scorer, test), evaluate_heads(two.scorer, test)
    assert heads["purchase_lists"] == single["purchase_lists"] > 30
    # the purchase score (pCTR * pCVR) orders purchases clearly better than one engagement score
    assert heads["ndcg@10_purchases"] > single["ndcg@10_purchases"] + 0.03
    assert heads["purchase_auc"] > single["purchase_auc"] + 0.02
    # ... and the click head loses nothing on clicks
    assert heads["click_auc"] > single["click_auc"] - 0.01
    # the conversion head learned the price, the click head the relevance
    weights = two.metrics["head_weights"]
    assert weights["conversion"]["log_price"] < -0.5 < weights["click"]["log_price"]
    assert weights["click"]["semantic_score"] > 1.0
    # every objective is reported; ranking by clicks only is the single head's order, roughly
    by = heads["by_objective"]
    assert set(by) == {"click", "purchase", "blend"} and by["purchase"] > by["click"]
    # per-list scores for paired bootstraps: one per list with a purchase
    assert len(purchase_ndcg_per_list(two.scorer, test)) == heads["purchase_lists"]


def test_two_heads_save_and_load_with_the_same_scores(trained, tmp_path):
    _, test, _, two = trained
    two.save(tmp_path / "v2")
    config = json.loads((tmp_path / "v2" / "ranker.json").read_text())
    assert config["heads"] == ["click", "purchase"] and config["format_version"] == 2
    loaded = load_scorer(tmp_path / "v2")
    assert isinstance(loaded, TwoHeadScorer)
    dicts = [r.features for r in test[:30]]
    for objective in ("click", "purchase", "blend"):
        np.testing.assert_allclose(
            serving_log_scores(loaded, dicts, objective, 0.3),
            serving_log_scores(two.scorer, dicts, objective, 0.3),
            rtol=1e-6,
        )


def test_old_single_head_artifacts_load_and_serve_for_every_objective(trained, tmp_path):
    _, test, one, _ = trained
    one.scorer.save(tmp_path / "v1")
    # an artifact written before the heads: no "heads" key, format 1
    assert "heads" not in json.loads((tmp_path / "v1" / "ranker.json").read_text())
    loaded = load_scorer(tmp_path / "v1")
    assert isinstance(loaded, RankerScorer)
    dicts = [r.features for r in test[:20]]
    expected = -np.logaddexp(0.0, -one.scorer.score_features(dicts))  # log sigmoid
    for objective in ("click", "purchase", "blend"):
        np.testing.assert_allclose(
            serving_log_scores(loaded, dicts, objective), expected, rtol=1e-6
        )


def test_the_objective_changes_the_order():
    """A click head that likes expensive items, a conversion head that likes cheap ones."""
    scorer = TwoHeadScorer(
        FEATURES,
        np.zeros(3),
        np.ones(3),
        [],
        (np.array([[0.0, 1.0, 0.0]]), np.array([-5.0])),
        (np.array([[0.0, -3.0, 0.0]]), np.array([13.5])),
    )
    cheap, dear = {"log_price": 3.3}, {"log_price": 5.3}
    click = serving_log_scores(scorer, [cheap, dear], "click")
    purchase = serving_log_scores(scorer, [cheap, dear], "purchase")
    assert click[1] > click[0] and purchase[0] > purchase[1]
    # the blend moves from one order to the other with its weight
    assert serving_log_scores(scorer, [cheap, dear], "blend", 0.0).tolist() == click.tolist()
    np.testing.assert_allclose(serving_log_scores(scorer, [cheap, dear], "blend", 1.0), purchase)
    with pytest.raises(ValueError, match="unknown ranker objective"):
        serving_log_scores(scorer, [cheap], "revenue")


def test_without_purchase_weight_the_conversion_head_stays_untrained():
    rows = planted_lists(30, seed=3)
    result = train_two_headed(rows, TwoHeadConfig(features=FEATURES, epochs=2, gamma=0.0))
    init = train_two_headed(rows, TwoHeadConfig(features=FEATURES, epochs=0, gamma=0.0))
    np.testing.assert_array_equal(result.scorer.purchase_head[0], init.scorer.purchase_head[0])
    assert result.metrics["steps"] > 0 and result.metrics["train_purchases"] > 0


def test_the_conversion_head_fitted_on_clicked_items_learns_the_purchase_signal_too(trained):
    """``conversion="clicked"``: pCVR fitted on the clicked rows only (the classic CVR model
    the bench compares ESMM with) still finds what purchases follow and clicks do not."""
    train, test, one, _ = trained
    clicked = train_two_headed(
        train, TwoHeadConfig(features=FEATURES, epochs=12, conversion="clicked")
    )
    single, heads = evaluate_heads(one.scorer, test), evaluate_heads(clicked.scorer, test)
    assert heads["ndcg@10_purchases"] > single["ndcg@10_purchases"] + 0.03
    weights = clicked.metrics["head_weights"]
    assert weights["conversion"]["log_price"] < -0.5 < weights["click"]["log_price"]
    with pytest.raises(ValueError, match="unknown conversion fit"):
        train_two_headed(train[:40], TwoHeadConfig(features=FEATURES, conversion="bought"))


def test_a_purchase_weight_raises_the_purchase_score_of_rare_purchases():
    """Purchases 1 shown item in ~60: weighing a purchased row raises pCTCVR where purchases
    happen (the unweighted BCE is mostly the unbought items) and keeps the order."""
    rows = planted_lists(150, seed=4, reluctance=3.0)
    test = planted_lists(80, seed=5, reluctance=3.0)
    plain = train_two_headed(rows, TwoHeadConfig(features=FEATURES, epochs=8))
    weighted = train_two_headed(
        rows, TwoHeadConfig(features=FEATURES, epochs=8, purchase_weight=10.0)
    )
    x = np.asarray([[r.features[f] for f in FEATURES] for r in test])
    bought = np.asarray([r.engagement >= 3 for r in test])
    assert 0 < bought.mean() < 0.05
    p_plain = np.exp(plain.scorer.log_score(x, objective="purchase"))
    p_weighted = np.exp(weighted.scorer.log_score(x, objective="purchase"))
    assert p_weighted[bought].mean() > 1.5 * p_plain[bought].mean()
    assert (
        evaluate_heads(weighted.scorer, test)["ndcg@10_purchases"]
        > evaluate_heads(plain.scorer, test)["ndcg@10_purchases"] - 0.03
    )


def test_the_validation_lists_choose_how_the_heads_blend(trained):
    """Purchases follow the price, which only the conversion head knows: the validation lists
    choose a purchase weight above 0 (clicks alone), and every weight tried is reported."""
    _, test, _, two = trained
    valid = planted_lists(100, seed=6)
    chosen, figures = choose_blend(two.scorer, valid)
    assert set(figures) == set(BLEND_GRID)
    assert chosen is not None and chosen > 0
    assert figures[chosen] == max(figures.values()) > figures[0.0] + 0.03
    # no purchase among the validation lists: nothing to choose by
    clicks_only = [r for r in valid if r.engagement < 3]
    assert choose_blend(two.scorer, clicks_only) == (None, {})
