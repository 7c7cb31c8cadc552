"""Exploration slots for products the shop has hardly shown yet (cold-start exposure).

A ranked list only ever shows what already has evidence, so a new product never collects the
impressions it would need to earn a place. An exploration policy gives a configurable share of
the slots to products with few impressions and picks them by **Thompson sampling** on their
click-through rate: each candidate's CTR has a Beta posterior, ``Beta(a + clicks, b +
impressions - clicks)``, one draw is taken per candidate and request, and the highest draws
win. A product that is never clicked after many impressions draws low and fades out of the
exploration pool; one that gets clicked draws high and is shown more, until it has enough
impressions to leave the pool and compete in the normal ranking.

The prior ``Beta(a, b)`` is centred on the store's typical CTR (``prior_ctr``) with the weight of
``prior_strength`` impressions, so a product with no impressions at all draws around the store's
CTR, not around 50 %.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ExplorationPolicy", "explore_positions", "interleave", "thompson_pick"]


@dataclass(frozen=True)
class ExplorationPolicy:
    """``share``: the fraction of a list's slots given to exploration (0 turns it off);
    ``max_impressions``: a product with at least this many impressions has left the pool;
    ``prior_ctr`` and ``prior_strength``: the Beta prior (mean and weight in impressions);
    ``first_position``: the first 1-based slot exploration may take (the top slots stay
    earned)."""

    share: float = 0.0
    max_impressions: int = 200
    prior_ctr: float = 0.05
    prior_strength: float = 20.0
    first_position: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 0.5:
            raise ValueError(f"share must be in [0, 0.5], got {self.share}")
        if self.max_impressions < 1:
            raise ValueError(f"max_impressions must be >= 1, got {self.max_impressions}")
        if not 0.0 < self.prior_ctr < 1.0:
            raise ValueError(f"prior_ctr must be in (0, 1), got {self.prior_ctr}")
        if self.prior_strength <= 0:
            raise ValueError(f"prior_strength must be > 0, got {self.prior_strength}")
        if self.first_position < 1:
            raise ValueError(f"first_position must be >= 1, got {self.first_position}")

    def slots(self, size: int) -> int:
        """How many of ``size`` slots explore: ``round(share * size)``, at least one when
        the share is on and the list has room after ``first_position``."""
        if self.share <= 0 or size < self.first_position:
            return 0
        room = size - self.first_position + 1
        return min(room, max(1, round(self.share * size)))


def thompson_pick(
    candidates: Mapping[Hashable, tuple[int, int]],
    n: int,
    policy: ExplorationPolicy,
    rng: np.random.Generator,
) -> list[tuple[Hashable, float]]:
    """Up to ``n`` of ``candidates`` (``{item: (impressions, clicks)}``) by one Beta draw each,
    highest first, with their draws. Items at or above ``policy.max_impressions`` are not
    candidates. Clicks above impressions (late or unattributed clicks) count as impressions."""
    if n <= 0:
        return []
    a0 = policy.prior_ctr * policy.prior_strength
    b0 = (1.0 - policy.prior_ctr) * policy.prior_strength
    items, alphas, betas = [], [], []
    for item, (impressions, clicks) in candidates.items():
        impressions, clicks = max(0, int(impressions)), max(0, int(clicks))
        impressions = max(impressions, clicks)
        if impressions >= policy.max_impressions:
            continue
        items.append(item)
        alphas.append(a0 + clicks)
        betas.append(b0 + impressions - clicks)
    if not items:
        return []
    draws = rng.beta(np.asarray(alphas), np.asarray(betas))
    order = np.argsort(-draws, kind="stable")[:n]
    return [(items[i], float(draws[i])) for i in order]


def explore_positions(size: int, n: int, first_position: int) -> list[int]:
    """The 0-based list positions the ``n`` exploration items take in a list of ``size``:
    spread evenly over the slots from ``first_position`` (1-based) on, never the top ones."""
    if n <= 0 or size <= 0:
        return []
    start = min(size, first_position) - 1
    room = size - start
    n = min(n, room)
    step = room / n
    return [start + math.floor(i * step + step / 2) for i in range(n)]


def interleave(
    ranked: Sequence[Hashable], explored: Sequence[Hashable], size: int, first_position: int
) -> list[tuple[Hashable, bool]]:
    """``ranked`` with ``explored`` items placed at :func:`explore_positions`, cut to ``size``;
    each entry says whether it is an exploration item. Explored items already in the ranked
    part keep their earned place; when the ranked list runs short, explored items fill in."""
    top = set(ranked[:size])
    picked = [item for item in dict.fromkeys(explored) if item not in top]
    chosen = set(picked)
    positions = set(explore_positions(size, len(picked), first_position))
    earned = iter([item for item in ranked if item not in chosen])
    extra = iter(picked)
    out: list[tuple[Hashable, bool]] = []
    for position in range(size):
        first, second = (extra, earned) if position in positions else (earned, extra)
        item = next(first, None)
        if item is None:
            item = next(second, None)
        if item is None:
            break
        out.append((item, item in chosen))
    return out
