"""training.ml.metrics against values worked out by hand."""

import itertools
import json
import math
import random

import pytest

from training.ml import metrics


def test_ndcg_graded_hand_example():
    # ranked [a, b, c], gains {a: 0, b: 3, c: 1}; gain 2^g - 1, discount log2(rank + 1):
    #   DCG@3  = (2^0-1)/log2(2) + (2^3-1)/log2(3) + (2^1-1)/log2(4)
    #          = 0 + 7/1.5849625 + 1/2 = 4.4165083 + 0.5 = 4.9165083
    #   ideal order b, c, a:
    #   IDCG@3 = 7/log2(2) + 1/log2(3) + 0 = 7 + 0.6309298 = 7.6309298
    #   NDCG@3 = 4.9165083 / 7.6309298 = 0.6442869
    gains = {"a": 0, "b": 3, "c": 1}
    assert metrics.ndcg_at_k(["a", "b", "c"], gains, 3) == pytest.approx(0.6442869, abs=1e-6)
    # k=2: DCG = 4.4165083, IDCG = 7 + 0.6309298 (still the top two ideal gains) -> 0.5787641
    assert metrics.ndcg_at_k(["a", "b", "c"], gains, 2) == pytest.approx(0.5787641, abs=1e-6)
    # k=1: a has gain 0.
    assert metrics.ndcg_at_k(["a", "b", "c"], gains, 1) == 0.0
    assert metrics.ndcg_at_k(["b", "c", "a"], gains, 3) == pytest.approx(1.0)


def test_ndcg_ideal_counts_judged_items_never_retrieved():
    # ranked [b] with gains {b: 1, d: 3}: DCG = 1; IDCG = 7 + 1/log2(3) = 7.6309298
    value = metrics.ndcg_at_k(["b", "x"], {"b": 1, "d": 3}, 2)
    assert value == pytest.approx(1 / 7.6309298, abs=1e-6)
    assert metrics.ndcg_at_k(["a"], {"a": 0}, 5) == 0.0  # nothing relevant -> 0


def test_recall_and_mrr():
    ranked = ["a", "b", "c", "d"]
    assert metrics.recall_at_k(ranked, {"b", "d", "e"}, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(ranked, {"b", "d", "e"}, 4) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(ranked, set(), 4) == 0.0
    # A duplicate in the ranking is credited once.
    assert metrics.recall_at_k(["b", "b", "d"], {"b", "d"}, 2) == pytest.approx(0.5)
    # Gains as judgments: gain > 0 means relevant.
    assert metrics.recall_at_k(ranked, {"a": 0, "c": 2}, 3) == pytest.approx(1.0)

    assert metrics.mrr(["x", "y", "b"], {"b"}) == pytest.approx(1 / 3)
    assert metrics.mrr(["x", "y", "b"], {"b"}, k=2) == 0.0
    assert metrics.mrr(["b"], {"b", "x"}) == 1.0


def test_mean_over_queries_and_report():
    rankings = {"q1": ["a", "b"], "q2": ["c", "d"], "q4": ["z"]}
    judgments = {"q1": {"b"}, "q2": {"x"}, "q3": {"a"}, "q5": set()}
    # q1: 1/2; q2: 0; q3 (no ranking): 0; q5 skipped (nothing relevant) -> (0.5 + 0 + 0)/3
    assert metrics.mean_over_queries(metrics.mrr, rankings, judgments) == pytest.approx(0.5 / 3)
    assert metrics.mean_over_queries(
        metrics.recall_at_k, rankings, judgments, k=2
    ) == pytest.approx(1 / 3)
    report = metrics.retrieval_report(rankings, judgments, ks=(1, 2))
    assert report["queries"] == 3
    assert report["recall@1"] == 0.0
    assert report["mrr"] == pytest.approx(0.5 / 3)
    # binary gain 1 at rank 2: (1/log2 3) / 1 = 0.6309298, averaged over 3 queries
    assert report["ndcg@2"] == pytest.approx(0.6309298 / 3, abs=1e-6)


def test_auc_hand_values():
    # positives 0.9, 0.7; negatives 0.8, 0.6: pairs won 0.9>0.8, 0.9>0.6, 0.7>0.6; lost 0.7<0.8
    assert metrics.auc([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]) == pytest.approx(3 / 4)
    # ties: positives 0.5, 0.8; negatives 0.5, 0.2: 0.5~0.5 counts 1/2, the other three won
    assert metrics.auc([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1]) == pytest.approx(3.5 / 4)
    assert metrics.auc([1, 1, 1, 1], [1, 0, 1, 0]) == pytest.approx(0.5)
    assert metrics.auc([0.1, 0.9], [False, True]) == 1.0
    with pytest.raises(ValueError):
        metrics.auc([0.1, 0.2], [1, 1])


def test_auc_matches_pair_counting_with_many_ties():
    rng = random.Random(3)
    scores = [rng.choice([0.1, 0.2, 0.3, 0.4]) for _ in range(60)]
    labels = [rng.random() < 0.4 for _ in range(60)]
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    assert metrics.auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)))


def test_accuracy_macro_f1_confusion_report():
    y_true = ["a", "a", "b", "b", "c"]
    y_pred = ["a", "b", "b", "b", "a"]
    # a: tp 1, predicted 2, support 2 -> P 0.5, R 0.5, F1 0.5
    # b: tp 2, predicted 3, support 2 -> P 2/3, R 1, F1 2*(2/3)*1/(5/3) = 0.8
    # c: tp 0, predicted 0, support 1 -> P 0, R 0, F1 0
    # macro-F1 = (0.5 + 0.8 + 0) / 3 = 0.4333333; accuracy = 3/5
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(0.6)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(1.3 / 3)
    assert metrics.confusion_matrix(y_true, y_pred, ["a", "b", "c"]) == [
        [1, 1, 0],
        [0, 2, 0],
        [1, 0, 0],
    ]
    report = metrics.classification_report(y_true, y_pred)
    assert report["accuracy"] == pytest.approx(0.6)
    assert report["macro_f1"] == pytest.approx(1.3 / 3)
    assert report["labels"] == ["a", "b", "c"]
    assert report["per_label"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["per_label"]["b"]["recall"] == pytest.approx(1.0)
    assert report["per_label"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["confusion"][2] == [1, 0, 0]
    json.dumps(report)  # stored on the model version as is
    assert math.isclose(metrics.macro_f1(["x"], ["x"]), 1.0)
    with pytest.raises(ValueError):
        metrics.accuracy(["a"], ["a", "b"])


def test_paired_bootstrap_interval_is_above_zero_only_for_a_real_gain():
    import numpy as np

    from training.ml.metrics import paired_bootstrap

    rng = np.random.default_rng(1)
    base = rng.random(80)
    mean, low, high = paired_bootstrap(base + 0.05 + rng.normal(0, 0.02, 80), base)
    assert 0.04 < mean < 0.06 and 0 < low < mean < high
    mean, low, high = paired_bootstrap(base + rng.normal(0, 0.05, 80), base)
    assert low < 0 < high
    assert paired_bootstrap([], []) == (0.0, 0.0, 0.0)
