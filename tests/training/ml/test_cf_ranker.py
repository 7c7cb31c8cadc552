"""training.ml.cf and training.ml.ranker on planted synthetic data (fixed seeds, no database)."""

import json
import sys

import numpy as np
import pytest

from training.ml import cf
from training.ml.progress import JobCancelled
from training.ml.ranker import (
    FEATURES,
    RankerConfig,
    RankerRow,
    RankerScorer,
    evaluate_ranker,
    feature_matrix,
    train_ranker,
)

# -- collaborative filtering ------------------------------------------------------------------


def _planted_interactions(seed=0, n_users=400, n_groups=10, per_group=12, n_pop=10):
    """Users of group g buy items of group g; ten popular items go to anyone.

    Train: 5 random items of the user's group (t < 100) and each popular item with p = 0.3.
    Test (t >= 100): 2 further items of the group and each other popular item with p = 0.1.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for u in range(n_users):
        group = u % n_groups
        items = [f"g{group}_{j}" for j in rng.permutation(per_group)]
        train += [(f"u{u}", item, 1.0, t) for t, item in enumerate(items[:5])]
        test += [(f"u{u}", item, 1.0, 100 + t) for t, item in enumerate(items[5:7])]
        for p in range(n_pop):
            draw = rng.random()
            if draw < 0.3:
                train.append((f"u{u}", f"pop{p}", 1.0, 50))
            elif draw < 0.4:
                test.append((f"u{u}", f"pop{p}", 1.0, 120))
    return cf.build_interactions(train), cf.build_interactions(test)


@pytest.fixture(scope="module")
def planted():
    return _planted_interactions()


def test_build_interactions_sums_duplicates_and_is_order_free():
    rows = [("b", "x", 1.0, 0), ("a", "y", 2.0, 1), ("b", "x", 3.0, 2)]
    inter = cf.build_interactions(rows)
    assert inter.user_ids == ["a", "b"] and inter.item_ids == ["x", "y"]
    assert inter.matrix.toarray().tolist() == [[0.0, 2.0], [4.0, 0.0]]
    assert cf.build_interactions(rows[::-1]).matrix.toarray().tolist() == [[0, 2], [4, 0]]
    fixed = cf.build_interactions([("a", "z", 1.0, 0), ("a", "x", 1.0, 0)], ["a"], ["x", "y"])
    assert fixed.matrix.toarray().tolist() == [[1.0, 0.0]]  # "z" is outside the id space
    assert inter.items_of("b") == {"x"} and inter.items_of("nobody") == set()


def test_item_item_recovers_planted_groups(planted):
    train, _ = planted
    model = cf.ItemItemCF.fit(train, top_k=20)
    for group in range(10):
        neighbours = [item for item, _ in model.similar_items(f"g{group}_0", k=5)]
        assert len(neighbours) == 5 and all(item.startswith(f"g{group}_") for item in neighbours), (
            neighbours
        )
    recs = model.recommend("u3", k=7)
    assert recs and all(item.startswith("g3_") for item, _ in recs)
    assert not {item for item, _ in recs} & train.items_of("u3")  # seen items left out
    excluded = recs[0][0]
    assert excluded not in [item for item, _ in model.recommend("u3", k=7, exclude=[excluded])]
    assert model.recommend("stranger") == []


@pytest.mark.parametrize("kind", ["item_item", "implicit", "numpy_als"])
def test_cf_beats_popularity_on_planted_data(planted, kind):
    train, test = planted
    if kind == "item_item":
        model = cf.ItemItemCF.fit(train, top_k=50)
    else:
        model = cf.ImplicitMF.fit(
            train, factors=16, iterations=8, regularization=0.05, seed=1,
            use_implicit=kind == "implicit",
        )  # fmt: skip
    baseline = cf.evaluate_cf(cf.PopularityModel.fit(train), train, test, k=20)
    result = cf.evaluate_cf(model, train, test, k=20)
    assert set(result) >= {"recall@20", "ndcg@20", "coverage"}
    assert result["users"] == 400
    assert result["recall@20"] > baseline["recall@20"] + 0.3
    assert result["ndcg@20"] > baseline["ndcg@20"] + 0.2
    assert result["coverage"] > baseline["coverage"]
    assert result["novelty"] > baseline["novelty"]  # group items are rarer than the popular ten


def test_novelty_is_the_mean_self_information_of_what_was_recommended():
    # Four users; "hit" is held by three of them, "rare" by one: p = (n + 1) / (users + 1).
    train = cf.build_interactions(
        [("a", "hit", 1.0, 0), ("b", "hit", 1.0, 0), ("c", "hit", 1.0, 0), ("d", "rare", 1.0, 0)]
    )
    test = cf.build_interactions([("a", "rare", 1.0, 1), ("d", "hit", 1.0, 1)])
    model = cf.PopularityModel.fit(train)
    bits = cf.evaluate_cf(model, train, test, k=1)["novelty"]
    # a is shown "rare" (its only unseen item), d is shown "hit".
    expected = (-np.log2(2 / 5) - np.log2(4 / 5)) / 2
    assert bits == pytest.approx(expected)


def test_implicit_mf_falls_back_to_numpy_when_implicit_is_missing(planted, monkeypatch):
    train, test = planted
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)  # import now raises ImportError
    calls = []
    model = cf.ImplicitMF.fit(
        train, factors=8, iterations=3, seed=0, progress_cb=lambda *args: calls.append(args)
    )
    assert model.params["backend"] == "numpy"
    assert [c[:3] for c in calls] == [(1 / 3, 1, 3), (2 / 3, 2, 3), (1.0, 3, 3)]
    assert cf.evaluate_cf(model, train, test)["recall@20"] > 0.5


def test_implicit_mf_can_be_cancelled(planted):
    train, _ = planted
    answers = iter([False, True])
    with pytest.raises(JobCancelled):
        cf.ImplicitMF.fit(train, factors=4, iterations=5, should_cancel=lambda: next(answers))


@pytest.mark.parametrize(
    "fit",
    [
        cf.PopularityModel.fit,
        lambda inter: cf.ItemItemCF.fit(inter, top_k=10),
        lambda inter: cf.ImplicitMF.fit(inter, factors=8, iterations=3),
    ],
    ids=["popularity", "item_item", "implicit_mf"],
)
def test_cf_save_load_round_trip(planted, tmp_path, fit):
    train, _ = planted
    model = fit(train)
    model.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["cf.json", "cf.npz"]
    loaded = cf.load_cf_model(tmp_path / "model")
    assert type(loaded) is type(model)
    assert type(model).load(tmp_path / "model").kind == model.kind
    assert loaded.recommend("u7", k=10) == model.recommend("u7", k=10)
    assert loaded.similar_items("g1_1", k=5) == model.similar_items("g1_1", k=5)
    items = ["g7_0", "pop1", "unknown"]
    np.testing.assert_allclose(loaded.score("u7", items), model.score("u7", items))
    assert model.score("u7", items)[2] == 0.0
    assert loaded.params == model.params


def test_popularity_answers_unknown_users(planted):
    train, _ = planted
    model = cf.popularity(train)
    top = [item for item, _ in model.recommend("stranger", k=3)]
    assert len(top) == 3 and all(item.startswith("pop") for item in top)


# -- ranker -------------------------------------------------------------------------------------


def _planted_lists(seed, n_lists=300, per_list=10):
    """Lists ordered by lexical score; clicks depend on semantic score and position only.

    P(click) = sigmoid(2 * semantic - 0.4 * (position - 1)); a click becomes a purchase
    (engagement 3) with P = sigmoid(semantic). Lexical score decides the position, so a model
    without the position feature would credit lexical for position-driven clicks.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for list_id in range(n_lists):
        values = {name: rng.normal(size=per_list) for name in FEATURES if name != "position"}
        order = np.argsort(-values["lexical_score"])
        for position, i in enumerate(order, start=1):
            features = {name: float(v[i]) for name, v in values.items()}
            features["position"] = float(position)
            logit = 2.0 * features["semantic_score"] - 0.4 * (position - 1)
            click = float(rng.random() < 1 / (1 + np.exp(-logit)))
            bought = click and rng.random() < 1 / (1 + np.exp(-features["semantic_score"]))
            rows.append(RankerRow(f"{seed}-{list_id}", features, click, 3.0 if bought else click))
    return rows


@pytest.fixture(scope="module")
def ranker_data():
    return _planted_lists(seed=0), _planted_lists(seed=1, n_lists=100)


def test_ranker_learns_planted_feature_and_corrects_position(ranker_data):
    train, valid = ranker_data
    progress = []
    result = train_ranker(
        train,
        RankerConfig(epochs=8, learning_rate=0.05, lists_per_batch=32, seed=0),
        progress_cb=lambda *args: progress.append(args),
        valid_rows=valid,
    )
    m = result.metrics
    assert m["train_loss"] < m["initial_train_loss"] - 0.1
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    weights = m["feature_weights"]
    assert max(weights, key=lambda name: abs(weights[name])) == "semantic_score"
    assert weights["semantic_score"] > 0 and weights["position"] < 0
    # Position explains the placement clicks, so lexical gets little credit.
    assert abs(weights["lexical_score"]) < 0.25 * weights["semantic_score"]
    assert m["valid_auc"] > 0.75
    assert m["valid_ndcg@10"] > 0.6
    assert len(progress) == m["steps"] == 8 * 10
    assert progress[-1][0] == pytest.approx(1.0) and progress[-1][3] is not None
    assert progress[-1][4] == {"epoch": 7}

    # Control: without the position feature, lexical takes the credit for placement clicks.
    biased = train_ranker(
        train, RankerConfig(epochs=8, lists_per_batch=32, features=FEATURES[:-1])
    ).metrics["feature_weights"]
    assert biased["lexical_score"] > 3 * abs(weights["lexical_score"])


def test_ranker_cancel_is_checked_every_step(ranker_data):
    torch = pytest.importorskip("torch")
    train, _ = ranker_data
    threads = torch.get_num_threads()
    steps = []
    with pytest.raises(JobCancelled):
        train_ranker(
            train,
            RankerConfig(epochs=5),
            progress_cb=lambda *args: steps.append(args[1]),
            should_cancel=lambda: len(steps) >= 3,
        )
    assert steps == [1, 2, 3]
    assert torch.get_num_threads() == threads  # the training-time thread cap is undone


def test_mlp_scorer_matches_torch_and_round_trips(ranker_data, tmp_path):
    torch = pytest.importorskip("torch")
    train, valid = ranker_data
    config = RankerConfig(model="mlp", hidden=8, epochs=3, seed=2)
    result = train_ranker(train, config)
    assert result.metrics["train_loss"] < result.metrics["initial_train_loss"]

    # The numpy scorer reproduces the torch network (training-time positions).
    net = torch.nn.Sequential(torch.nn.Linear(7, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    net.load_state_dict({name: torch.from_numpy(w) for name, w in result.weights.items()})
    x = feature_matrix(row.features for row in valid)
    standardised = (x - result.scorer.mean) / result.scorer.std
    with torch.no_grad():
        expected = net(torch.from_numpy(standardised)).squeeze(-1).numpy()
    np.testing.assert_allclose(result.scorer.score(x, fix_position=False), expected, atol=1e-5)

    result.save(tmp_path / "ranker")
    loaded = RankerScorer.load(tmp_path / "ranker")
    np.testing.assert_allclose(loaded.score(x), result.scorer.score(x), atol=1e-6)
    assert loaded.features == FEATURES and loaded.model == "mlp"
    # Serving fixes position at 1: moving an item down the list does not change its score.
    moved = x.copy()
    moved[:, FEATURES.index("position")] = 9.0
    np.testing.assert_allclose(loaded.score(moved), loaded.score(x))
    assert evaluate_ranker(loaded, valid)["rows"] == len(valid)
    # The lexical feature's definition travels with the artifact; one saved before it did was
    # trained on ts_rank_cd, and serving must compute that for it.
    assert loaded.lexical_score == "bm25f"
    config_path = tmp_path / "ranker" / "ranker.json"
    config = json.loads(config_path.read_text())
    del config["lexical_score"]
    config_path.write_text(json.dumps(config))
    assert RankerScorer.load(tmp_path / "ranker").lexical_score == "ts_rank_cd"


def test_feature_matrix_defaults():
    x = feature_matrix([{"semantic_score": 0.5}, {"position": 4, "cf_score": None}])
    assert x.shape == (2, len(FEATURES))
    assert x[0, FEATURES.index("semantic_score")] == 0.5
    assert x[0, FEATURES.index("position")] == 1.0  # missing position = top
    assert x[1, FEATURES.index("position")] == 4.0 and x[1, FEATURES.index("cf_score")] == 0.0
