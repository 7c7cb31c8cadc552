"""The store-wide aggregates as a request reads them (trending, popularity, bought-together,
popular queries): the latest stored, never computed here.

On a miss (a flushed Redis, a fresh installation before its bootstrap) a request serves the
last value its process saw, or empty aggregates, and asks for a refresh: one
``refresh_trending`` task per minute at most, whoever misses.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache

from recommend.aggregates import Aggregates, last_seen, latest, missed
from recommend.tasks import refresh_trending

logger = logging.getLogger(__name__)

REFRESH_REQUESTED_KEY = "recommend:aggregates-refresh-requested"
REFRESH_REQUEST_SECONDS = 60


def current(now: datetime | None = None) -> Aggregates:
    """The latest aggregates; on a miss the last ones seen (or empty) and a refresh requested
    (a miss found by a check in the background shows in ``missed()``)."""
    value = latest()
    if value is not None and not missed():
        return value
    _request_refresh()
    return latest() or last_seen() or Aggregates()


def _request_refresh() -> None:
    try:
        if cache.add(REFRESH_REQUESTED_KEY, 1, timeout=REFRESH_REQUEST_SECONDS):
            refresh_trending.delay()
    except Exception:  # a broker outage must not fail the request that noticed the miss
        logger.warning("could not request an aggregates refresh", exc_info=True)
