"""Latency histogram with fixed log-spaced bins, so percentiles can be derived from rolled-up
bin counts (summed over any set of hours or days) without the raw rows.

Bin ``i`` (1-based, as PostgreSQL's ``width_bucket`` numbers them) holds latencies in
``[BOUNDS_MS[i-1], BOUNDS_MS[i])``; bin 0 is below the first bound and bin ``len(BOUNDS_MS)``
at or above the last. Adjacent bounds differ by 10 %, so a percentile read from the bins is
within 5 % of the exact one (log-interpolated inside its bin).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RATIO = 1.1
FIRST_MS = 0.05
BOUNDS_MS: tuple[float, ...] = tuple(
    round(FIRST_MS * RATIO**i, 6) for i in range(int(math.log(120_000 / FIRST_MS, RATIO)) + 2)
)


def bin_of(ms: float) -> int:
    """The bin a latency falls in (the same number ``width_bucket(ms, BOUNDS_MS)`` gives)."""
    lo, hi = 0, len(BOUNDS_MS)
    while lo < hi:  # first bound strictly above ms
        mid = (lo + hi) // 2
        if BOUNDS_MS[mid] <= ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q``-quantile (0..1) of the latencies counted per bin; None when there are none."""
    total = sum(c for c in counts.values() if c > 0)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for b in sorted(counts):
        c = counts[b]
        if c <= 0:
            continue
        if seen + c >= rank:
            if b <= 0:
                return BOUNDS_MS[0]
            if b >= len(BOUNDS_MS):
                return BOUNDS_MS[-1]
            lo, hi = BOUNDS_MS[b - 1], BOUNDS_MS[b]
            frac = min(1.0, max(0.0, (rank - seen) / c))
            return lo * (hi / lo) ** frac
        seen += c
    return BOUNDS_MS[-1]
