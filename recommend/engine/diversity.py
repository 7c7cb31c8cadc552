"""Result diversification: per-group caps and maximal marginal relevance."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

__all__ = ["cap_by_group", "mmr"]

T = TypeVar("T")


def cap_by_group(
    items: Sequence[T],
    group_of: Callable[[T], Hashable],
    max_share: float,
    size: int,
) -> list[T]:
    """Take up to ``size`` items, in order, with at most ``max_share`` of them from one group.

    The cap is ``max(1, floor(max_share * n))`` items per group, where ``n = min(size,
    len(items))`` is the length of the returned list. Items are taken in their given order;
    one that would exceed its group's cap is set aside. When the capped pass cannot fill
    ``n`` slots (too few groups), the set-aside items are appended in their original order:
    a full list beats a diverse but short one.
    """
    if not 0 < max_share <= 1:
        raise ValueError(f"max_share must be in (0, 1], got {max_share}")
    n = min(max(0, size), len(items))
    if n == 0:
        return []
    cap = max(1, math.floor(max_share * n + 1e-9))
    taken: list[T] = []
    skipped: list[T] = []
    per_group: dict[Hashable, int] = {}
    for item in items:
        if len(taken) == n:
            break
        group = group_of(item)
        if per_group.get(group, 0) < cap:
            per_group[group] = per_group.get(group, 0) + 1
            taken.append(item)
        else:
            skipped.append(item)
    if len(taken) < n:
        taken.extend(skipped[: n - len(taken)])
    return taken


def mmr(
    candidates: Sequence[T],
    relevance: Sequence[float] | np.ndarray,
    vectors: np.ndarray,
    lambda_: float = 0.7,
    size: int = 10,
    *,
    normalise_relevance: bool = True,
) -> list[T]:
    """Select ``size`` candidates by maximal marginal relevance (Carbonell & Goldstein, 1998).

    Each step picks ``argmax lambda_ * rel(i) - (1 - lambda_) * max_{j selected} cos(i, j)``.
    ``relevance`` and the rows of ``vectors`` align with ``candidates``. Relevance is min-max
    scaled to [0, 1] first (``normalise_relevance``) so it trades off against cosine
    similarity on a comparable scale whatever the ranker's units. ``lambda_ = 1`` keeps the
    relevance order; ties go to the earlier candidate.
    """
    if not 0 <= lambda_ <= 1:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    count = len(candidates)
    rel = np.asarray(relevance, dtype=np.float64).reshape(-1)
    vecs = np.asarray(vectors, dtype=np.float64)
    if rel.shape[0] != count or vecs.ndim != 2 or vecs.shape[0] != count:
        raise ValueError("candidates, relevance and vectors must have the same length")
    size = min(max(0, size), count)
    if size == 0:
        return []
    if normalise_relevance:
        spread = rel.max() - rel.min()
        rel = (rel - rel.min()) / spread if spread > 0 else np.ones_like(rel)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    unit = np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)

    max_sim = np.full(count, -np.inf)  # no penalty before the first pick
    available = np.ones(count, dtype=bool)
    chosen: list[int] = []
    for _ in range(size):
        penalty = np.where(np.isneginf(max_sim), 0.0, max_sim)
        score = lambda_ * rel - (1 - lambda_) * penalty
        score[~available] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        available[pick] = False
        max_sim = np.maximum(max_sim, unit @ unit[pick])
    return [candidates[i] for i in chosen]
