"""Redis access for serving: generations, result cache, query vectors, the search-log buffer.

Serving reads two generations (``platform_core.caches``), in cache keys and as the keys of its
process caches:

- :data:`platform_core.caches.MODELS_GENERATION` — bumped by Training when a version is
  promoted or rolled back;
- :data:`CONFIG_GENERATION` — bumped by every strategy / rule / synonym / pin write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from platform_core import buffers, metrics
from platform_core.caches import MODELS_GENERATION, Generation, read_generations

logger = logging.getLogger(__name__)

CONFIG_GENERATION = Generation("recommend:config-generation")
RESULT_TTL = 300
QUERY_VECTOR_TTL = 24 * 3600

redis_client = buffers.redis_client  # one client per process for serving and the buffers


#: What a serving request reads in its API key's round trip (``ServingView.read_with_key``).
GENERATIONS = (MODELS_GENERATION, CONFIG_GENERATION)


def generations(read: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """``(models generation, config generation)``: from ``read`` when the request's API-key
    round trip read them, else in a round trip of their own."""
    models, config = read_generations(*GENERATIONS, read=read)
    return models, config


def bump_config_generation() -> int:
    """Invalidate every strategy/rule cache and every cached result."""
    return CONFIG_GENERATION.bump()


def digest(parts: Any) -> str:
    """A short stable hash of a JSON-able value (cache keys)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:24]


# --- result cache ------------------------------------------------------------------------


def result_get(key: str) -> Any:
    return result_and_vector_get(key, None)[0]


#: ``query_vector``'s ``prefetched`` when nothing was read ahead: it reads the vector itself.
NOT_READ: Any = object()


def result_and_vector_get(key: str, vector_key: str | None) -> tuple[Any, Any]:
    """A cached result and, in the same round trip, the raw query vector under ``vector_key``
    (:func:`query_vector_key`): ``(result or None, raw bytes or None)``; the raw vector is
    :data:`NOT_READ` without a ``vector_key`` or when Redis failed."""
    raw_vector = NOT_READ
    try:
        if vector_key is None:
            raw = redis_client().get(f"aisle:recommend:result:{key}")
        else:
            raw, raw_vector = redis_client().mget([f"aisle:recommend:result:{key}", vector_key])
        value = None if raw is None else pickle.loads(raw)
    except Exception:  # a cache outage must not fail a request
        logger.warning("result cache read failed", exc_info=True)
        value, raw_vector = None, NOT_READ
    metrics.cache_lookup("result", value is not None)
    return value, raw_vector


#: A Redis write a request defers to its end: ``(key, value, seconds to live)``.
Write = tuple[str, bytes, int]


def result_write(key: str, value: Any, timeout: int = RESULT_TTL) -> Write:
    """The write that caches a result (pickled now: later changes to ``value`` are not kept)."""
    return (f"aisle:recommend:result:{key}", pickle.dumps(value, pickle.HIGHEST_PROTOCOL), timeout)


def result_set(
    key: str, value: Any, timeout: int = RESULT_TTL, *, also: list[Write] | None = None
) -> None:
    """Cache a result; ``also``: the request's deferred writes, sent in the same round trip."""
    writes_send([result_write(key, value, timeout), *(also or ())])


def result_store(ctx: Any, key: str, value: Any, timeout: int = RESULT_TTL) -> None:
    """Cache a request's result: now, or with the request's other writes when it defers them
    (``ctx.defer_writes``: an API request, see :func:`request_writes_send`)."""
    if ctx.defer_writes:
        ctx.cache_writes.insert(0, result_write(key, value, timeout))
    else:
        result_set(key, value, timeout, also=ctx.cache_writes)
        ctx.cache_writes.clear()


def request_writes_send(ctx: Any) -> None:
    """Send what a request deferred (its cached result, a fresh query vector, its search-log
    and served-request rows) in one round trip; a row Redis refused is written directly by its
    fallback. Called once the response has been sent (``recommend.api.views.ServingView``)."""
    writes, pushes = list(ctx.cache_writes), list(ctx.pushes)
    ctx.cache_writes.clear()
    ctx.pushes.clear()
    statuses = buffers.send(writes, [(buffer, row) for buffer, row, _ in pushes])
    for (_, row, fallback), status in zip(pushes, statuses, strict=True):
        if status == "failed":
            try:
                fallback(row)
            except Exception:  # a log must never fail the response it describes
                logger.exception(
                    "request %s: a log row could not be written", row.get("request_id")
                )


def writes_send(writes: list[Write]) -> None:
    """Send some ``SET … EX`` writes in one round trip (a pipeline, not a transaction); a cache
    outage is logged, never raised."""
    if not writes:
        return
    try:
        if len(writes) == 1:
            key, value, timeout = writes[0]
            redis_client().set(key, value, ex=timeout)
            return
        pipe = redis_client().pipeline(transaction=False)
        for key, value, timeout in writes:
            pipe.set(key, value, ex=timeout)
        pipe.execute()
    except Exception:
        logger.warning("serving cache write failed", exc_info=True)


# --- query vectors -----------------------------------------------------------------------


def query_vector(
    version_id: int,
    text: str,
    encode: Callable[[str], np.ndarray],
    vector_space: int | None = None,
    *,
    defer: list[Write] | None = None,
    prefetched: Any = NOT_READ,
) -> tuple[np.ndarray, bool]:
    """The query's embedding under a retriever version, from Redis or freshly encoded.

    The key holds the encoding version and the vector space it encodes into (a quantised child
    and its parent share a space, never an entry). Returns ``(vector, was_cached)``. ``defer``:
    a fresh vector's write is appended there instead of sent (the request sends it with its
    result's: :func:`result_set`'s ``also``), one Redis round trip less.
    ``prefetched``: the raw value already read with the request's result
    (:func:`result_and_vector_get`; None: not cached).
    """
    key = query_vector_key(version_id, text, vector_space)
    raw = prefetched
    if raw is NOT_READ:
        try:
            raw = redis_client().get(key)
        except Exception:
            raw = None
    metrics.cache_lookup("query_vector", raw is not None)
    if raw is not None:
        return np.frombuffer(raw, dtype=np.float32), True
    vector = np.asarray(encode(text), dtype=np.float32).reshape(-1)
    if defer is not None:
        defer.append((key, vector.tobytes(), QUERY_VECTOR_TTL))
        return vector, False
    try:
        redis_client().set(key, vector.tobytes(), ex=QUERY_VECTOR_TTL)
    except Exception:
        logger.warning("query vector cache write failed", exc_info=True)
    return vector, False


def query_vectors(
    version_id: int,
    texts: Sequence[str],
    encode_many: Callable[[list[str]], np.ndarray],
    vector_space: int | None = None,
) -> dict[str, np.ndarray]:
    """Many queries' embeddings, each as :func:`query_vector` gives it (the cached vector when
    Redis holds one, else a fresh one, then cached), for offline jobs that prepare many queries
    at once (``training.ranking_data.FeatureBuilder.prepare_many``): one read for all of them,
    one ``encode_many`` call on the texts not cached (the encoder batches them: one query at a
    time costs about 15x more), one pipelined write. ``{text: vector}``."""
    texts = list(dict.fromkeys(texts))
    if not texts:
        return {}
    keys = {text: query_vector_key(version_id, text, vector_space) for text in texts}
    try:
        raws = redis_client().mget(list(keys.values()))
    except Exception:
        raws = [None] * len(texts)
    out: dict[str, np.ndarray] = {}
    for text, raw in zip(texts, raws, strict=True):
        metrics.cache_lookup("query_vector", raw is not None)
        if raw is not None:
            out[text] = np.frombuffer(raw, dtype=np.float32)
    missing = [text for text in texts if text not in out]
    if missing:
        fresh = np.asarray(encode_many(missing), dtype=np.float32).reshape(len(missing), -1)
        writes: list[Write] = []
        for text, vector in zip(missing, fresh, strict=True):
            out[text] = vector
            writes.append((keys[text], vector.tobytes(), QUERY_VECTOR_TTL))
        writes_send(writes)
    return out


def query_vector_key(version_id: int, text: str, vector_space: int | None = None) -> str:
    space = int(vector_space or version_id)
    digest_ = hashlib.sha1(text.encode("utf-8")).hexdigest()[:24]
    return f"aisle:recommend:qvec:{int(version_id)}:{space}:{digest_}"


# --- search log buffer --------------------------------------------------------------------


def searchlog_push(row: dict[str, Any]) -> str:
    """Queue a SearchLog row for ``recommend.tasks.flush_searchlogs``: ``"queued"``,
    ``"dropped"`` (buffer full, counted) or ``"failed"`` (Redis unreachable)."""
    from recommend.buffers import SEARCHLOG

    return SEARCHLOG.push(row)


def searchlog_pending() -> int:
    from recommend.buffers import SEARCHLOG

    return SEARCHLOG.pending()
