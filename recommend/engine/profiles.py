"""Shopper profiles from engagement events: a decayed taste vector and category interests.

An event's weight is ``event_weight(type) * 0.5 ** (age / half_life)``: a purchase counts
more than a view, and an event one half-life old counts half as much as one now. Events
stamped in the future (clock skew between the storefront and the server) count as "now".
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

__all__ = ["EVENT_WEIGHTS", "category_interests", "decay_weights", "decayed_profile"]

#: Default weight per event type: view < click < add_to_cart < purchase.
EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 2.0,
    "add_to_cart": 4.0,
    "purchase": 8.0,
}

_SECONDS_PER_DAY = 86_400.0


def _seconds(moment: datetime | float | int) -> float:
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: pass timezone-aware datetimes or epoch seconds")
        return moment.timestamp()
    return float(moment)


def _event_weights(
    weights: Sequence[float | str], event_weights: Mapping[str, float] | None
) -> np.ndarray:
    table = EVENT_WEIGHTS if event_weights is None else event_weights
    out = np.empty(len(weights), dtype=np.float64)
    for i, w in enumerate(weights):
        if isinstance(w, str):
            if w not in table:
                raise ValueError(f"unknown event type {w!r}; known: {sorted(table)}")
            out[i] = table[w]
        else:
            out[i] = float(w)
    if (out < 0).any():
        raise ValueError("event weights must be >= 0")
    return out


def decay_weights(
    timestamps: Sequence[datetime | float],
    weights: Sequence[float | str],
    now: datetime | float,
    half_life_days: float,
    *,
    event_weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Per-event weight ``w * 0.5 ** (age_days / half_life_days)``.

    ``weights`` are numbers or event type names (looked up in ``event_weights``, default
    :data:`EVENT_WEIGHTS`); timestamps are aware datetimes or epoch seconds.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    if len(timestamps) != len(weights):
        raise ValueError("timestamps and weights must have the same length")
    now_s = _seconds(now)
    ages = np.array([now_s - _seconds(t) for t in timestamps], dtype=np.float64)
    ages = np.maximum(ages, 0.0) / _SECONDS_PER_DAY
    return _event_weights(weights, event_weights) * np.exp2(-ages / half_life_days)


def decayed_profile(
    vectors: np.ndarray,
    timestamps: Sequence[datetime | float],
    weights: Sequence[float | str],
    now: datetime | float,
    half_life_days: float = 14.0,
    *,
    event_weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Unit-length, decayed, weighted mean of the engaged products' vectors.

    Each product vector is normalised first, so a long description's vector does not
    outweigh a short title's. Returns a zero vector when there is no usable event (no
    events, all weights zero, or the weighted vectors cancel out).
    """
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(timestamps):
        raise ValueError("vectors must be a 2-d array with one row per event")
    if matrix.shape[0] == 0:
        return np.zeros(matrix.shape[1], dtype=np.float64)
    w = decay_weights(timestamps, weights, now, half_life_days, event_weights=event_weights)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    profile = w @ unit
    length = float(np.linalg.norm(profile))
    if length < 1e-12:
        return np.zeros(matrix.shape[1], dtype=np.float64)
    return profile / length


def category_interests(
    category_ids: Sequence[Hashable | None],
    timestamps: Sequence[datetime | float],
    weights: Sequence[float | str],
    now: datetime | float,
    half_life_days: float = 30.0,
    *,
    event_weights: Mapping[str, float] | None = None,
    top_n: int | None = None,
) -> dict[Any, float]:
    """Share of decayed engagement per category, summing to 1, largest first.

    Events without a category are ignored. With ``top_n`` only the largest shares are kept
    and renormalised. Ties are ordered by category id text, for a stable result.
    """
    if len(category_ids) != len(timestamps):
        raise ValueError("category_ids and timestamps must have the same length")
    w = decay_weights(timestamps, weights, now, half_life_days, event_weights=event_weights)
    totals: dict[Hashable, float] = {}
    for category, weight in zip(category_ids, w, strict=True):
        if category is not None and weight > 0:
            totals[category] = totals.get(category, 0.0) + float(weight)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if top_n is not None:
        ranked = ranked[: max(0, top_n)]
    mass = sum(v for _, v in ranked)
    if mass <= 0:
        return {}
    return {category: value / mass for category, value in ranked}
