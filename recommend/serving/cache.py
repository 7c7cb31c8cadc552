"""Redis access for serving: generations, result cache, query vectors, the search-log buffer.

Generations are small integers in the Django cache that writers bump; readers put them in
cache keys (so a bump invalidates every dependent entry at once) and key process-local
caches by them (so a request costs one ``MGET`` to learn whether anything changed).

- ``serving:models-generation`` — bumped by Training when a version is promoted;
- ``recommend:config-generation`` — bumped by every strategy / rule / synonym / pin write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
from django.core.cache import cache

from platform_core import buffers

logger = logging.getLogger(__name__)

MODELS_GENERATION_KEY = "serving:models-generation"
CONFIG_GENERATION_KEY = "recommend:config-generation"
RESULT_TTL = 300
QUERY_VECTOR_TTL = 24 * 3600

redis_client = buffers.redis_client  # one client per process for serving and the buffers


def _raw_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def generations() -> tuple[int, int]:
    """``(models generation, config generation)`` in one round trip.

    Read with the raw client (Django's cache builds a client object per call, a measurable
    cost per request); the values are the plain integers ``cache.incr`` stores.
    """
    try:
        values = redis_client().mget(
            [cache.make_key(MODELS_GENERATION_KEY), cache.make_key(CONFIG_GENERATION_KEY)]
        )
    except Exception:
        logger.warning("generation read failed", exc_info=True)
        return 0, 0
    return _raw_int(values[0]), _raw_int(values[1])


def bump_config_generation() -> int:
    """Invalidate every strategy/rule cache and every cached result."""
    try:
        return cache.incr(CONFIG_GENERATION_KEY)
    except ValueError:  # key missing: incr needs an existing key
        cache.add(CONFIG_GENERATION_KEY, 0, timeout=None)
        return cache.incr(CONFIG_GENERATION_KEY)


def bump_models_generation() -> int:
    """What Training's promotion does; used by tests and the bench to simulate it."""
    try:
        return cache.incr(MODELS_GENERATION_KEY)
    except ValueError:
        cache.add(MODELS_GENERATION_KEY, 0, timeout=None)
        return cache.incr(MODELS_GENERATION_KEY)


def digest(parts: Any) -> str:
    """A short stable hash of a JSON-able value (cache keys)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:24]


# --- result cache ------------------------------------------------------------------------


def result_get(key: str) -> Any:
    try:
        raw = redis_client().get(f"aisle:recommend:result:{key}")
        return None if raw is None else pickle.loads(raw)
    except Exception:  # a cache outage must not fail a request
        logger.warning("result cache read failed", exc_info=True)
        return None


def result_set(key: str, value: Any, timeout: int = RESULT_TTL) -> None:
    try:
        redis_client().set(
            f"aisle:recommend:result:{key}",
            pickle.dumps(value, pickle.HIGHEST_PROTOCOL),
            ex=timeout,
        )
    except Exception:
        logger.warning("result cache write failed", exc_info=True)


# --- query vectors -----------------------------------------------------------------------


def query_vector(
    version_id: int, text: str, encode: Callable[[str], np.ndarray]
) -> tuple[np.ndarray, bool]:
    """The query's embedding under a retriever version, from Redis or freshly encoded.

    Returns ``(vector, was_cached)``.
    """
    key = f"aisle:recommend:qvec:{int(version_id)}:{hashlib.sha1(text.encode('utf-8')).hexdigest()[:24]}"
    try:
        raw = redis_client().get(key)
    except Exception:
        raw = None
    if raw is not None:
        return np.frombuffer(raw, dtype=np.float32), True
    vector = np.asarray(encode(text), dtype=np.float32).reshape(-1)
    try:
        redis_client().set(key, vector.tobytes(), ex=QUERY_VECTOR_TTL)
    except Exception:
        logger.warning("query vector cache write failed", exc_info=True)
    return vector, False


# --- search log buffer --------------------------------------------------------------------


def searchlog_push(row: dict[str, Any]) -> str:
    """Queue a SearchLog row for ``recommend.tasks.flush_searchlogs``: ``"queued"``,
    ``"dropped"`` (buffer full, counted) or ``"failed"`` (Redis unreachable)."""
    from recommend.buffers import SEARCHLOG

    return SEARCHLOG.push(row)


def searchlog_pending() -> int:
    from recommend.buffers import SEARCHLOG

    return SEARCHLOG.pending()
