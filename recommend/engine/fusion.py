"""Reciprocal rank fusion of ranked lists from several retrievers.

RRF (Cormack, Clarke and Büttcher, 2009) scores an item by ``sum_s w_s / (k + rank_s)`` over
the sources ``s`` that returned it, with 1-based ranks. It needs no score calibration, which
is why it suits a lexical ``ts_rank`` and a cosine similarity that live on different scales.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fused", "id_sort_key", "reciprocal_rank_fusion"]


@dataclass(frozen=True)
class Fused:
    """One fused result: its id, RRF score and ``{source: (rank, raw_score)}``."""

    id: Hashable
    score: float
    sources: dict[str, tuple[int, float]] = field(default_factory=dict)


def id_sort_key(item_id: Any) -> tuple[int, Any]:
    """A total order over mixed ids (numbers before strings) for deterministic tie-breaks."""
    if isinstance(item_id, bool):
        return (2, str(item_id))
    if isinstance(item_id, int | float):
        return (0, item_id)
    if isinstance(item_id, str):
        return (1, item_id)
    return (2, repr(item_id))


def reciprocal_rank_fusion(
    ranked: Mapping[str, Sequence[tuple[Hashable, float]]],
    weights: Mapping[str, float] | None = None,
    k: int = 60,
    *,
    limit: int | None = None,
) -> list[Fused]:
    """Fuse ranked lists with weighted reciprocal rank fusion.

    ``ranked`` maps a source name ("lexical", "semantic", ...) to its ``(id, raw_score)``
    list, best first: the list order is the rank, raw scores are only recorded (their
    direction and scale differ between sources). A repeated id within one list keeps its
    first, best rank. A source missing from ``weights`` has weight 1; weight 0 switches a
    source off. Ties on the fused score are broken by the number of sources that returned the
    item, then by its best rank, then by id, so the output never depends on dict order.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    weights = weights or {}
    for name, weight in weights.items():
        if weight < 0:
            raise ValueError(f"weight for {name!r} must be >= 0, got {weight}")
    scores: dict[Hashable, float] = {}
    sources: dict[Hashable, dict[str, tuple[int, float]]] = {}
    for name in sorted(ranked):  # fixed summation order: identical floats on every run
        weight = float(weights.get(name, 1.0))
        if weight == 0:
            continue
        seen: set[Hashable] = set()
        for position, (item_id, raw_score) in enumerate(ranked[name], start=1):
            if item_id in seen:
                continue
            seen.add(item_id)
            scores[item_id] = scores.get(item_id, 0.0) + weight / (k + position)
            sources.setdefault(item_id, {})[name] = (position, float(raw_score))
    order = sorted(
        scores,
        key=lambda i: (
            -scores[i],
            -len(sources[i]),
            min(rank for rank, _ in sources[i].values()),
            id_sort_key(i),
        ),
    )
    if limit is not None:
        order = order[: max(0, limit)]
    return [Fused(id=i, score=scores[i], sources=sources[i]) for i in order]
