"""Deterministic, sticky assignment of units (shoppers, sessions) to experiment variants.

``bucket = int(sha256(salt + "\\x1f" + unit_id)[:16 hex digits]) mod 10000``: the same unit
always lands in the same bucket for a given experiment salt, and different salts give
independent splits. The unit separator ``\\x1f`` keeps ``("ab", "c")`` and ``("a", "bc")``
apart; an analyst can recompute any assignment with the same recipe in SQL or a notebook.

Buckets ``[0, holdout)`` are the holdout; the variants follow in list order, each taking
``share`` percent of the 10,000 buckets. Because the holdout sits at the bottom, changing
variant shares never moves a unit into or out of the holdout.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

__all__ = ["BUCKETS", "assign", "bucket", "validate_allocation"]

#: Number of buckets: shares have a resolution of 0.01 percentage points.
BUCKETS = 10_000
_TOLERANCE = 1e-6


def bucket(salt: str, unit_id: str) -> int:
    """The unit's bucket in ``[0, BUCKETS)`` for this experiment salt."""
    digest = hashlib.sha256(f"{salt}\x1f{unit_id}".encode()).hexdigest()
    return int(digest[:16], 16) % BUCKETS


def validate_allocation(
    variants: Sequence[tuple[str, float]], holdout_percent: float = 0.0
) -> list[tuple[str, int]]:
    """Check an allocation and return ``(key, upper bucket bound)`` per variant.

    Raises ``ValueError`` unless keys are unique non-empty strings, shares and holdout are
    finite and non-negative, and variant shares plus holdout sum to 100.
    """
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    keys = [key for key, _ in variants]
    if any(not isinstance(key, str) or not key for key in keys):
        raise ValueError(f"variant keys must be non-empty strings, got {keys}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"variant keys must be unique, got {keys}")
    shares = [float(share) for _, share in variants]
    for key, share in zip(keys, shares, strict=True):
        if not math.isfinite(share) or share < 0:
            raise ValueError(f"share of variant {key!r} must be a percentage >= 0, got {share}")
    holdout = float(holdout_percent)
    if not math.isfinite(holdout) or not 0 <= holdout < 100:
        raise ValueError(f"holdout_percent must be in [0, 100), got {holdout_percent}")
    total = sum(shares) + holdout
    if abs(total - 100.0) > _TOLERANCE:
        raise ValueError(
            f"variant shares ({' + '.join(f'{s:g}' for s in shares)}) plus holdout "
            f"({holdout:g}) must sum to 100, got {total:g}"
        )
    bounds: list[tuple[str, int]] = []
    cumulative = holdout
    for key, share in zip(keys, shares, strict=True):
        cumulative += share
        bounds.append((key, round(cumulative * BUCKETS / 100)))
    bounds[-1] = (bounds[-1][0], BUCKETS)  # absorb float rounding (e.g. three 33.333.. shares)
    return bounds


def assign(
    salt: str,
    unit_id: str,
    variants: Sequence[tuple[str, float]],
    holdout_percent: float = 0.0,
) -> str | None:
    """The variant key for ``unit_id``, or ``None`` when the unit is in the holdout.

    ``variants`` is ``[(key, share_percent), ...]``; shares plus ``holdout_percent`` must
    sum to 100 (``ValueError`` otherwise). A variant with share 0 receives no one.
    """
    if not isinstance(salt, str) or not salt:
        raise ValueError("salt must be a non-empty string (e.g. the experiment's key)")
    bounds = validate_allocation(variants, holdout_percent)
    b = bucket(salt, str(unit_id))
    if b < round(float(holdout_percent) * BUCKETS / 100):
        return None
    for key, upper in bounds:
        if b < upper:
            return key
    return bounds[-1][0]  # unreachable: the last bound is BUCKETS
