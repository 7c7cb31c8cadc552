"""Store-wide aggregates that serving reads on every request: trending, popularity,
bought-together and popular queries.

``recommend.services.aggregates_refresh`` computes them (beat runs ``refresh_trending`` every
ten minutes; ``make run``'s bootstrap once, and ``/readyz`` waits for that) and stores one blob
in Redis with a stamp; each process keeps the blob in memory and checks the stamp at most every
``CHECK_SECONDS``. Requests never compute them: on a miss (a flushed Redis) they serve the last
value this process saw and ask for a refresh (``recommend.serving.aggregates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache

from platform_core.caches import TimedValue

BLOB_KEY = "recommend:aggregates"
STAMP_KEY = "recommend:aggregates-stamp"
BLOB_TTL = 24 * 3600
CHECK_SECONDS = 30.0


@dataclass
class Aggregates:
    """``trending``/``by_category`` are ``[(product id, score)]`` best first; ``by_category``
    keys are category ids and cover each category's whole subtree. ``popular`` is all-time
    popularity (weighted events over the whole log, no decay), best first: the last source of
    the recommendations' fallback chain before the rest of the catalogue. ``complementary`` maps
    a category id to the categories bought with it (lift, best first): bought-together's
    fallback for products with no basket history of their own. ``exploration`` is the pool of
    active, in-stock products shown least in the last 30 days, ``(product id, impressions,
    clicks)`` from the served-request rollups: what the exploration slots draw from."""

    stamp: str = ""
    reference_time: float = 0.0
    trending: list[tuple[int, float]] = field(default_factory=list)
    by_category: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    popularity: dict[int, float] = field(default_factory=dict)
    bought_together: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    popular_queries: list[tuple[str, int]] = field(default_factory=list)
    product_categories: dict[int, int] = field(default_factory=dict)
    popular: list[tuple[int, float]] = field(default_factory=list)
    complementary: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    exploration: list[tuple[int, int, int]] = field(default_factory=list)
    # What intent acts on (recommend.product_signals): {id: (count, mean)}, {id: (purchases,
    # views)}, {id: [{"text", "rating"}]}.
    ratings: dict[int, tuple[int, float]] = field(default_factory=dict)
    propensity: dict[int, tuple[int, int]] = field(default_factory=dict)
    review_snippets: dict[int, list[dict]] = field(default_factory=dict)


def _in_background(refresh) -> None:
    from recommend.serving.pool import submit  # (the request pool: inline in a transaction)

    submit(refresh)


# An expired check is made beside the request that meets it, which is served the held blob: a new
# blob (every ten minutes) took 4-6 ms to read and unpickle at 5k products, and grows with the
# catalogue; the stamp's read, every 30 s, a round trip.
_latest = TimedValue("recommend.aggregates", CHECK_SECONDS, background=_in_background)
#: Whether the last check found no aggregates in Redis (flushed, or never computed): with a blob
#: held, the check that finds the miss runs in the background, so it is noted here for the
#: request path to ask for a refresh (``recommend.serving.aggregates.current``).
_missed = False


def store(value: Aggregates) -> None:
    cache.set(BLOB_KEY, value.__dict__, BLOB_TTL)
    cache.set(STAMP_KEY, value.stamp, BLOB_TTL)
    _latest.set(value)


def _shared() -> Aggregates | None:
    """The blob in Redis (the process copy when its stamp is still current), or None."""
    global _missed
    held = _latest.value
    stamp = cache.get(STAMP_KEY)
    _missed = not stamp
    if held is not None and stamp == held.stamp:
        return held
    data = cache.get(BLOB_KEY) if stamp else None
    return Aggregates(**data) if data is not None else None


def latest() -> Aggregates | None:
    """The latest aggregates stored, or None when none are (never computed, or Redis lost them)."""
    return _latest.get(_shared)


def missed() -> bool:
    """Whether this process's last check of Redis found no aggregates there."""
    return _missed


def last_seen() -> Aggregates | None:
    """The aggregates this process held last, however old (None when it never held any)."""
    return _latest.value


def readiness() -> str:
    """``/readyz``'s blocking check: a node serves once the aggregates are computed (by
    bootstrap, then beat), so a fresh installation never serves empty trending."""
    stamp = cache.get(STAMP_KEY)
    if not stamp:
        raise RuntimeError(
            "trending and popularity are not computed yet (make run's bootstrap computes them, "
            "then beat's refresh_trending)"
        )
    return f"computed at {stamp.rsplit(':', 1)[0]}"
