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


@dataclass(frozen=True, slots=True)
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
    best: dict[Hashable, int] = {}  # each item's best rank over its sources
    for name in sorted(ranked):  # fixed summation order: identical floats on every run
        weight = float(weights.get(name, 1.0))
        if weight == 0:
            continue
        seen: set[Hashable] = set()
        for position, (item_id, raw_score) in enumerate(ranked[name], start=1):
            if item_id in seen:
                continue
            seen.add(item_id)
            found = sources.get(item_id)
            if found is None:
                scores[item_id] = weight / (k + position)
                sources[item_id] = {name: (position, float(raw_score))}
                best[item_id] = position
            else:
                scores[item_id] += weight / (k + position)
                found[name] = (position, float(raw_score))
                if position < best[item_id]:
                    best[item_id] = position
    # Sorted on keys built once per item (a key function's calls were most of a search's
    # fusion time); the item's position in ``scores`` ends each key, as a stable sort would,
    # so two ids are never compared themselves.
    order = sorted(
        (
            -score,
            -len(sources[i]),
            best[i],
            (0, i) if type(i) is int else id_sort_key(i),
            n,
            i,
        )
        for n, (i, score) in enumerate(scores.items())
    )
    if limit is not None:
        order = order[: max(0, limit)]
    return [Fused(i, -neg_score, sources[i]) for neg_score, _, _, _, _, i in order]
