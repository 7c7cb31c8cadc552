"""Offline evaluation metrics for retrieval, ranking and classification.

Plain Python + numpy, no Django and no torch, so the evaluate job, the CF and ranker trainers
and the tests all score results the same way.

Ranking metrics take one query's ranked ids and its judgments. Judgments are either a
collection of relevant ids or a mapping ``{id: graded gain}``; where a metric needs a relevant
set, ids with a gain above zero count as relevant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Judgments = Collection[Hashable] | Mapping[Hashable, float]


def _relevant_set(judgments: Judgments) -> set[Hashable]:
    if isinstance(judgments, Mapping):
        return {item for item, gain in judgments.items() if gain > 0}
    return set(judgments)


_DUPLICATE = object()  # fills the slot of a repeated id: it is never relevant


def _top_k(ranked_ids: Sequence[Hashable], k: int | None) -> list[Hashable]:
    """The first ``k`` slots; a repeated id keeps its slot but cannot be credited twice."""
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    seen: set[Hashable] = set()
    top: list[Hashable] = []
    for item in ranked_ids if k is None else ranked_ids[:k]:
        top.append(_DUPLICATE if item in seen else item)
        seen.add(item)
    return top


def recall_at_k(ranked_ids: Sequence[Hashable], relevant_ids: Judgments, k: int) -> float:
    """Share of the relevant ids found in the first ``k`` ranked ids (0.0 when none are relevant)."""
    relevant = _relevant_set(relevant_ids)
    if not relevant:
        return 0.0
    hits = sum(1 for item in _top_k(ranked_ids, k) if item in relevant)
    return hits / len(relevant)


def _dcg(gains: Iterable[float]) -> float:
    return sum((2.0**gain - 1.0) / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ndcg_at_k(ranked_ids: Sequence[Hashable], gains: Mapping[Hashable, float], k: int) -> float:
    """Graded NDCG@k: gain ``2**g - 1``, discount ``log2(rank + 1)`` (rank from 1).

    Unjudged ids have gain 0. The ideal DCG sorts *all* judged gains, including those of ids
    the ranking never retrieved, so missing a relevant item costs score. 0.0 when no judged
    gain is above zero.
    """
    ideal = _dcg(sorted((g for g in gains.values() if g > 0), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    top = _top_k(ranked_ids, k)
    return _dcg(0.0 if item is _DUPLICATE else gains.get(item, 0.0) for item in top) / ideal


def mrr(ranked_ids: Sequence[Hashable], relevant_ids: Judgments, k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id within the first ``k`` (all when None), else 0."""
    relevant = _relevant_set(relevant_ids)
    for rank, item in enumerate(_top_k(ranked_ids, k), start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def mean_over_queries(
    metric: Callable[..., float],
    rankings: Mapping[Hashable, Sequence[Hashable]],
    judgments: Mapping[Hashable, Judgments],
    **kwargs: Any,
) -> float:
    """Mean of ``metric(ranked, judged, **kwargs)`` over the judged queries.

    Queries come from ``judgments``; a query with no relevant id is skipped (no metric is
    defined for it) and a judged query missing from ``rankings`` scores as an empty ranking.
    Returns 0.0 when no query qualifies.
    """
    values = [
        metric(rankings.get(query, ()), judged, **kwargs)
        for query, judged in judgments.items()
        if _relevant_set(judged)
    ]
    return float(sum(values) / len(values)) if values else 0.0


def retrieval_report(
    rankings: Mapping[Hashable, Sequence[Hashable]],
    judgments: Mapping[Hashable, Judgments],
    ks: Sequence[int] = (10,),
) -> dict[str, float]:
    """Recall@k and NDCG@k for each k, MRR, and the number of evaluated queries.

    Judgments given as plain relevant sets are graded 1 for NDCG.
    """
    graded = {
        query: dict(judged) if isinstance(judged, Mapping) else dict.fromkeys(judged, 1.0)
        for query, judged in judgments.items()
    }
    report: dict[str, float] = {}
    for k in ks:
        report[f"recall@{k}"] = mean_over_queries(recall_at_k, rankings, graded, k=k)
        report[f"ndcg@{k}"] = mean_over_queries(ndcg_at_k, rankings, graded, k=k)
    report["mrr"] = mean_over_queries(mrr, rankings, graded)
    report["queries"] = float(sum(1 for judged in graded.values() if _relevant_set(judged)))
    return report


def auc(scores: Sequence[float], labels: Sequence[bool | int | float]) -> float:
    """ROC AUC as the Mann-Whitney U statistic: P(score_pos > score_neg), ties counting 1/2.

    Labels are truthy for positives. Raises ValueError unless both classes are present.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("scores and labels must be 1-d and of the same length")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative label")
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average 1-based ranks over runs of tied scores.
    start = 0
    while start < len(s):
        end = start
        while end + 1 < len(s) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def accuracy(y_true: Sequence[Hashable], y_pred: Sequence[Hashable]) -> float:
    """Share of positions where prediction equals truth (0.0 for empty input)."""
    _check_same_length(y_true, y_pred)
    if not y_true:
        return 0.0
    return sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p) / len(y_true)


def _check_same_length(y_true: Sequence[Hashable], y_pred: Sequence[Hashable]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items, y_pred {len(y_pred)}")


def _labels_of(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable] | None
) -> list[Hashable]:
    if labels is not None:
        return list(labels)
    return sorted(set(y_true) | set(y_pred), key=str)


def confusion_matrix(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable]
) -> list[list[int]]:
    """Counts ``matrix[i][j]`` of items with true label ``labels[i]`` predicted ``labels[j]``.

    Pairs whose true or predicted label is not in ``labels`` are left out.
    """
    _check_same_length(y_true, y_pred)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred, strict=True):
        if t in index and p in index:
            matrix[index[t]][index[p]] += 1
    return matrix


def _per_label(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: list[Hashable]
) -> list[dict[str, float]]:
    """Precision, recall, F1 and support per label; an undefined ratio counts as 0."""
    rows = []
    for label in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p == label)
        predicted = sum(1 for p in y_pred if p == label)
        support = sum(1 for t in y_true if t == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"precision": precision, "recall": recall, "f1": f1, "support": support})
    return rows


def macro_f1(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Unweighted mean of per-label F1 over ``labels`` (default: every label seen in either list)."""
    _check_same_length(y_true, y_pred)
    label_list = _labels_of(y_true, y_pred, labels)
    if not label_list:
        return 0.0
    rows = _per_label(y_true, y_pred, label_list)
    return sum(row["f1"] for row in rows) / len(rows)


def classification_report(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
) -> dict[str, Any]:
    """JSON-ready summary: accuracy, macro_f1, per-label precision/recall/f1/support, confusion.

    ``per_label`` is keyed by ``str(label)``; ``labels`` keeps the order of the confusion
    matrix rows (true) and columns (predicted).
    """
    _check_same_length(y_true, y_pred)
    label_list = _labels_of(y_true, y_pred, labels)
    rows = _per_label(y_true, y_pred, label_list)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": sum(row["f1"] for row in rows) / len(rows) if rows else 0.0,
        "labels": label_list,
        "per_label": {str(label): row for label, row in zip(label_list, rows, strict=True)},
        "confusion": confusion_matrix(y_true, y_pred, label_list),
        "support": len(y_true),
    }


def recall_ndcg_from_hits(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> tuple[float, float]:
    """Mean Recall@k and binary NDCG@k over users, from a users × ranks 0/1 ``hits`` matrix.

    ``hits[u, r]`` says whether user ``u``'s item at rank ``r`` (from 0) is relevant;
    ``n_relevant[u]`` counts the user's relevant items, including those no model could rank,
    so they cost recall as they do in ``recall_at_k``. The same values as averaging
    ``recall_at_k`` / ``ndcg_at_k`` with gains of 1, computed for many users at once.
    """
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    if len(n_relevant) == 0:
        return 0.0, 0.0
    top = np.asarray(hits, dtype=np.float64)[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = top @ discounts[: top.shape[1]]
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cumulative[np.minimum(n_relevant, k).astype(np.int64)]
    recall = np.divide(top.sum(axis=1), n_relevant, out=np.zeros_like(dcg), where=n_relevant > 0)
    ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
    return float(recall.mean()), float(ndcg.mean())


def paired_bootstrap(
    candidate: Sequence[float],
    baseline: Sequence[float],
    *,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean difference, lower, upper): a percentile bootstrap interval of the mean of
    ``candidate[i] - baseline[i]`` over paired units (queries, shoppers), resampled with
    replacement ``samples`` times from a seeded generator. Above zero when the lower bound is."""
    diff = np.asarray(candidate, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(diff.mean()), float(low), float(high)
