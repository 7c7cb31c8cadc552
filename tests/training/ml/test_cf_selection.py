"""Per-user splits, literature-style CF evaluation, EASE, BPR and model selection on small arrays
(fixed seeds, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from training.ml import cf, metrics
from training.ml.splits import split_by_time, split_per_user


def block_rows(n_users=60, per_user=10, n_items=40, seed=0):
    """Each user's rows fill one block of time, users one after another (a check-in log)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, per_user, replace=False)
        rows += [(f"u{u}", f"i{i}", 1.0, u * 100 + t) for t, i in enumerate(items)]
    return rows


def users_of(part):
    return {row[0] for row in part}


def test_global_time_leaves_no_user_on_both_sides_of_a_block_log():
    split = split_by_time(block_rows(), time_fn=lambda row: row[3])
    assert not users_of(split.train) & users_of(split.test)  # why today's job said users: 0


def test_per_user_time_holds_out_each_users_latest_items():
    rows = block_rows()
    rows.append(("u0", "i-late", 1.0, 10_000))  # a repeat of the same (user, item) pair ...
    rows.append(("u0", "i-late", 1.0, 10_001))
    split = split_per_user(
        rows, lambda r: r[0], lambda r: r[1], lambda r: r[3], ratios=(0.7, 0.15, 0.15)
    )
    assert users_of(split.train) == users_of(split.valid) == users_of(split.test)
    for user in users_of(rows):
        times = {name: [r[3] for r in part if r[0] == user] for name, part in split.parts().items()}
        assert max(times["train"]) < min(times["valid"]) <= max(times["valid"]) < min(times["test"])
    assert [r[1] for r in split.test if r[0] == "u0"].count("i-late") == 2  # ... stays together
    assert split.boundaries["users"] == {"train": 60, "valid": 60, "test": 60}
    assert len(split.test) == 60 * 2 + 1  # round(11 * 0.15) = 2 items of u0, 2 rows of i-late


def test_per_user_split_keeps_short_histories_in_train_and_one_item_to_learn_from():
    rows = [("a", "x", 1.0, 1), ("a", "y", 1.0, 2)] + [("b", f"i{j}", 1.0, j) for j in range(3)]
    split = split_per_user(rows, lambda r: r[0], lambda r: r[1], lambda r: r[3])
    assert [r[1] for r in split.train] == ["x", "y", "i0"]  # a: too short; b keeps its oldest
    assert [r[1] for r in split.valid] == ["i1"] and [r[1] for r in split.test] == ["i2"]


def test_per_user_random_is_seeded_and_order_free():
    rows = block_rows()

    def test_pairs(seed, ordered):
        split = split_per_user(
            ordered, lambda r: r[0], lambda r: r[1], lambda r: r[3],
            method="per_user_random", seed=seed,
        )  # fmt: skip
        return {(r[0], r[1]) for r in split.test}

    assert test_pairs(1, rows) == test_pairs(1, rows[::-1])
    assert test_pairs(1, rows) != test_pairs(2, rows)
    by_time = split_per_user(rows, lambda r: r[0], lambda r: r[1], lambda r: r[3])
    assert test_pairs(1, rows) != {(r[0], r[1]) for r in by_time.test}


def test_vectorised_recall_and_ndcg_equal_the_per_query_metrics():
    rng = np.random.default_rng(3)
    hits = rng.random((50, 20)) < 0.2
    n_relevant = hits.sum(axis=1) + rng.integers(0, 4, 50)  # some relevant items never ranked
    rankings, judgments = {}, {}
    for q in range(50):
        ranked = [f"q{q}-r{r}" for r in range(20)]
        relevant = [ranked[r] for r in np.flatnonzero(hits[q])]
        relevant += [f"q{q}-missing{j}" for j in range(n_relevant[q] - len(relevant))]
        rankings[q], judgments[q] = ranked, dict.fromkeys(relevant, 1.0)
    for k in (10, 20):
        recall, ndcg = metrics.recall_ndcg_from_hits(hits, n_relevant, k)
        assert recall == pytest.approx(
            metrics.mean_over_queries(metrics.recall_at_k, rankings, judgments, k=k)
        )
        assert ndcg == pytest.approx(
            metrics.mean_over_queries(metrics.ndcg_at_k, rankings, judgments, k=k)
        )


@pytest.fixture(scope="module")
def planted():
    from tests.training.ml.test_cf_ranker import _planted_interactions

    return _planted_interactions()


def test_batched_evaluation_ranks_what_recommend_returns(planted):
    train, test = planted
    model = cf.ItemItemCF.fit(train, top_k=20)
    rankings = {u: [i for i, _ in model.recommend(u, k=20)] for u in test.user_ids}
    judgments = {u: dict.fromkeys(test.items_of(u) - train.items_of(u), 1.0) for u in rankings}
    result = cf.evaluate_cf(model, train, test, k=20, ks=(10,))
    assert result["ndcg@20"] == pytest.approx(
        metrics.mean_over_queries(metrics.ndcg_at_k, rankings, judgments, k=20)
    )
    assert result["recall@10"] == pytest.approx(
        metrics.mean_over_queries(metrics.recall_at_k, rankings, judgments, k=10)
    )
    # Items excluded (e.g. the validation period) are neither ranked nor counted as relevant.
    excluded = cf.build_interactions(
        [(u, item, 1.0, 0) for u in test.user_ids for item in test.items_of(u)][:300]
    )
    fewer = cf.evaluate_cf(model, train, test, exclude=excluded)
    assert fewer["users"] < result["users"]
    sample = cf.evaluate_cf(model, train, test, max_users=50, seed=1)
    assert sample["users"] == 50 and sample == cf.evaluate_cf(
        model, train, test, max_users=50, seed=1
    )


@pytest.mark.parametrize("family", ["ease", "bpr"])
def test_ease_and_bpr_beat_popularity_and_round_trip(planted, family, tmp_path):
    train, test = planted
    if family == "ease":
        model = cf.EASE.fit(train, lam=10.0, top_n=30)
        assert model.similarity.getnnz(axis=1).max() <= 30  # sparse top-N, not items × items
    else:
        model = cf.BPRMF.fit(train, factors=16, iterations=60, learning_rate=0.05, seed=1)
    baseline = cf.evaluate_cf(cf.PopularityModel.fit(train), train, test)
    result = cf.evaluate_cf(model, train, test)
    assert result["recall@20"] > baseline["recall@20"] + 0.3
    assert result["ndcg@20"] > baseline["ndcg@20"] + 0.2
    model.save(tmp_path / family)
    loaded = cf.load_cf_model(tmp_path / family)
    assert type(loaded) is type(model) and loaded.kind == family
    assert loaded.recommend("u7", k=10) == model.recommend("u7", k=10)
    assert loaded.similar_items("g1_1", k=5) == model.similar_items("g1_1", k=5)


def test_grids_share_work_without_changing_results(planted):
    train, _ = planted
    grid = cf.ItemItemCF.fit_grid(train, [(10, 0.0), (10, 5.0), (30, 5.0)])
    single = cf.ItemItemCF.fit(train, top_k=10, shrink=5.0)
    assert (grid[(10, 5.0)].similarity != single.similarity).nnz == 0
    assert grid[(30, 5.0)].similarity.nnz > grid[(10, 5.0)].similarity.nnz
    checkpoints = cf.ImplicitMF.fit_checkpoints(
        train, factors=8, checkpoints=[3, 6], regularization=0.05, seed=4, num_threads=1
    )
    alone = cf.ImplicitMF.fit(
        train, factors=8, iterations=3, regularization=0.05, seed=4, num_threads=1
    )
    np.testing.assert_allclose(
        checkpoints[3].item_factors, alone.item_factors, rtol=1e-4, atol=1e-5
    )
    assert not np.allclose(checkpoints[6].item_factors, alone.item_factors)


def test_selection_picks_the_best_validation_candidate_and_skips_ease_above_its_ceiling(planted):
    train, valid = planted
    space = cf.search_space(grid=True, factors=8, iterations=4, top_k=10, ease_lambda=10.0)
    candidates, best, model = cf.select(space, train, valid, k=20)
    assert len(candidates) == cf.candidate_count(space, train) == 6 + 2 + 8 + 6
    assert {c.family for c in candidates} == {"item_item", "ease", "implicit_mf", "bpr"}
    assert best.valid["ndcg@20"] == max(c.valid["ndcg@20"] for c in candidates)
    assert model.kind == best.family
    served = cf.refit(best, train)
    assert served.kind == best.family and served.params == model.params

    small = cf.search_space(grid=False, ease_max_items=train.n_items - 1, factors=8)
    assert "ease" in cf.skipped_families(small, train)
    candidates, _, _ = cf.select(small, train, valid, k=20)
    assert [c.family for c in candidates] == ["item_item", "implicit_mf", "bpr"]


def test_sanity_needs_enough_users_and_at_least_popularity():
    good = {"users": 150.0, "ndcg@20": 0.2}
    assert cf.sanity(good, {"ndcg@20": 0.1}, k=20, min_users=100)[0] is True
    sane, reason = cf.sanity({"users": 20.0, "ndcg@20": 0.2}, {"ndcg@20": 0.1}, k=20, min_users=100)
    assert not sane and "only 20 shoppers" in reason
    sane, reason = cf.sanity(good, {"ndcg@20": 0.3}, k=20, min_users=100)
    assert not sane and "below the popularity baseline" in reason
    assert (
        "found none"
        in cf.sanity({"users": 500.0, "ndcg@20": 0.0}, {"ndcg@20": 0.0}, k=20, min_users=1)[1]
    )


def test_bpr_is_skipped_with_a_reason_when_implicit_is_missing(planted, monkeypatch):
    import sys

    train, valid = planted
    monkeypatch.setitem(sys.modules, "implicit.cpu.bpr", None)  # import now raises ImportError
    space = cf.search_space(grid=False, families=["item_item", "bpr"])
    assert "not installed" in cf.skipped_families(space, train)["bpr"]
    candidates, best, _ = cf.select(space, train, valid)
    assert [c.family for c in candidates] == ["item_item"] and best.family == "item_item"
