"""Shopper segments: k-means over profile embeddings, k chosen by silhouette, named after the
categories a cluster leans to (plain Python: numpy and scikit-learn, no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Silhouette is computed on a seeded sample of at most this many shoppers (it is quadratic).
SILHOUETTE_SAMPLE = 3000


@dataclass(frozen=True)
class Clustering:
    """``labels[i]`` is row i's cluster; ``scores`` maps each k tried to its silhouette."""

    k: int
    labels: np.ndarray
    silhouette: float
    scores: dict[int, float]


def cluster_profiles(
    vectors: np.ndarray, *, k_min: int = 2, k_max: int = 8, seed: int = 0
) -> Clustering:
    """K-means on the L2-normalised rows (cosine geometry, as the profiles are served) for each
    k in ``[k_min, k_max]``; the k with the best silhouette wins (ties: the smaller k)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    n = len(vectors)
    if n < 3:
        return Clustering(k=1, labels=np.zeros(n, dtype=int), silhouette=0.0, scores={})
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    best: Clustering | None = None
    scores: dict[int, float] = {}
    for k in range(max(2, k_min), min(k_max, n - 1) + 1):
        # one BLAS/OpenMP thread: on a busy shared cpu worker oversubscribed threads made this
        # loop 5x slower (2,000 demo profiles × k 2..8: 55 s with the default pools, 10 s with one)
        with threadpool_limits(limits=1):
            labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
            if len(set(labels.tolist())) < 2:
                continue
            score = float(
                silhouette_score(
                    x, labels, sample_size=min(n, SILHOUETTE_SAMPLE), random_state=seed
                )
            )
        scores[k] = score
        if best is None or score > best.silhouette + 1e-9:
            best = Clustering(k=k, labels=labels, silhouette=score, scores=scores)
    if best is None:
        return Clustering(k=1, labels=np.zeros(n, dtype=int), silhouette=0.0, scores=scores)
    return Clustering(k=best.k, labels=best.labels, silhouette=best.silhouette, scores=scores)


@dataclass(frozen=True)
class SegmentSummary:
    """A cluster's name, size, conversion rate and top categories ``(name, share, lift)``."""

    label: int
    name: str
    size: int
    conversion_rate: float
    top_categories: list[tuple[str, float, float]]


def summarise_segments(
    labels: Sequence[int],
    interests: Sequence[Mapping[str, float]],
    converted: Sequence[bool],
    *,
    top: int = 3,
) -> list[SegmentSummary]:
    """Name each cluster after the categories its shoppers lean to: the mean interest share in
    the cluster, ranked by share × lift over the whole population (so a category every shopper
    likes does not name every segment); names are made unique with the third category or a
    number. Largest segment first."""
    labels = [int(v) for v in labels]
    overall: dict[str, float] = {}
    for row in interests:
        for name, share in row.items():
            overall[name] = overall.get(name, 0.0) + share
    total = max(len(interests), 1)
    overall = {k: v / total for k, v in overall.items()}
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    out: list[SegmentSummary] = []
    used: set[str] = set()
    for label, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        mean: dict[str, float] = {}
        for i in members:
            for name, share in interests[i].items():
                mean[name] = mean.get(name, 0.0) + share / len(members)
        ranked = sorted(
            (
                (name, share, share / overall[name] if overall.get(name) else 0.0)
                for name, share in mean.items()
            ),
            key=lambda t: (-(t[1] * t[2]), t[0]),
        )
        leaders = [name for name, *_ in ranked[:2]] or ["No category"]
        name = " & ".join(leaders)
        if name in used and len(ranked) > 2:
            name = f"{name} & {ranked[2][0]}"
        base, n = name, 2
        while name in used:
            name, n = f"{base} ({n})", n + 1
        used.add(name)
        conversion = sum(1 for i in members if converted[i]) / len(members)
        out.append(
            SegmentSummary(
                label=label,
                name=name[:120],
                size=len(members),
                conversion_rate=conversion,
                top_categories=[(n_, round(s, 4), round(lift, 3)) for n_, s, lift in ranked[:top]],
            )
        )
    return out


def interest_change(
    now: Mapping[str, float], before: Mapping[str, float], *, top: int = 10
) -> list[tuple[str, float, float, float]]:
    """``(key, share now, share before, change)`` for the keys that weigh most now or then,
    sorted by the share now."""
    keys = set(now) | set(before)
    rows = [(k, float(now.get(k, 0.0)), float(before.get(k, 0.0))) for k in keys]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return [(k, a, b, a - b) for k, a, b in rows[:top]]


def normalise_shares(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights → shares summing to 1 (empty when nothing weighs)."""
    total = sum(v for v in weights.values() if v > 0)
    if total <= 0:
        return {}
    return {k: v / total for k, v in weights.items() if v > 0}
