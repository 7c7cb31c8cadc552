"""Store-wide aggregates that serving reads on every request: trending, popularity,
bought-together and popular queries.

``recommend.services.aggregates_refresh`` computes them (beat runs ``refresh_trending`` every
ten minutes) and stores one blob in Redis with a stamp; each process keeps the blob in memory
and checks the stamp at most every ``CHECK_SECONDS``. A process that finds no blob (a fresh
installation, a flushed Redis) computes it once itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache

from platform_core.caches import TimedValue

BLOB_KEY = "recommend:aggregates"
STAMP_KEY = "recommend:aggregates-stamp"
BLOB_TTL = 24 * 3600
CHECK_SECONDS = 30.0


@dataclass
class Aggregates:
    """``trending``/``by_category`` are ``[(product id, score)]`` best first; ``by_category``
    keys are category ids and cover each category's whole subtree."""

    stamp: str = ""
    reference_time: float = 0.0
    trending: list[tuple[int, float]] = field(default_factory=list)
    by_category: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    popularity: dict[int, float] = field(default_factory=dict)
    bought_together: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    popular_queries: list[tuple[str, int]] = field(default_factory=list)
    product_categories: dict[int, int] = field(default_factory=dict)


_latest = TimedValue("recommend.aggregates", CHECK_SECONDS)


def store(value: Aggregates) -> None:
    cache.set(BLOB_KEY, value.__dict__, BLOB_TTL)
    cache.set(STAMP_KEY, value.stamp, BLOB_TTL)
    _latest.set(value)


def _shared() -> Aggregates | None:
    """The blob in Redis (the process copy when its stamp is still current), or None."""
    held = _latest.value
    stamp = cache.get(STAMP_KEY)
    if held is not None and stamp == held.stamp:
        return held
    data = cache.get(BLOB_KEY) if stamp else None
    return Aggregates(**data) if data is not None else None


def current(now: datetime | None = None) -> Aggregates:
    """The latest aggregates (computed here when none exist yet)."""
    value = _latest.get(_shared)
    if value is not None:
        return value
    from recommend import services  # computing takes the write path

    return services.aggregates_refresh()
