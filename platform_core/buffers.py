"""Redis buffers for rows written on the request path, flushed in batches by tasks.

A request never waits on a database write for its logs: it appends one JSON row to a Redis list
(:meth:`Buffer.push`, one round trip, never blocking). A flush task then:

1. **claims** a batch: one Lua script moves up to N rows from the head of the list into a
   processing list of its own and records the claim (token → time) in a sorted set — the
   atomic equivalent of N ``LMOVE`` calls, so a flusher that dies holds its rows in Redis
   instead of in its memory;
2. **writes** them with the caller's writer, which must be idempotent by request id (``ON
   CONFLICT DO NOTHING``), so a batch written twice is stored once;
3. on failure **retries row by row**; a row that still fails goes to the buffer's dead-letter
   list with its error, and the others land — one bad row can never block the rest;
4. **acknowledges** (drops the processing list and the claim) in the same transaction that
   adds the dead letters.

:func:`reclaim_stale` (beat, every minute) puts the rows of claims older than
``BUFFER_CLAIM_STALE_SECONDS`` back at the head of their buffer: a flusher killed mid-batch
loses nothing. A full buffer (``BUFFER_MAX_ROWS``) drops the new row and counts it in
``<key>:dropped`` — a request is never blocked or failed by its log.

Every buffer registers itself by name (:data:`REGISTRY`): readiness, the admin's dead-letter
page and the metrics read the same list.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

_client_lock = threading.Lock()
_client = None


def redis_client():
    """One redis-py client per process on the cache's Redis database (raw lists and hashes)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                import redis

                _client = redis.Redis.from_url(settings.REDIS_CACHE_URL)
    return _client


# Push unless the list is full; a full list counts the drop instead (KEYS: list, dropped).
_PUSH = """
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('INCR', KEYS[2])
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
"""

# Move up to ARGV[1] rows from the head of the list to a processing list and record the claim
# (KEYS: list, processing list, claims zset; ARGV: count, now, token).
_CLAIM = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return items
"""

# Put a claim's rows back at the head of the list, in their order, and forget the claim
# (KEYS: list, processing list, claims zset; ARGV: token). Returns how many rows moved.
_RELEASE = """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do
  redis.call('LPUSH', KEYS[1], items[i])
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return #items
"""

# Move one dead letter back to the buffer, once (KEYS: dead list, list; ARGV: entry, row).
_RETRY = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


_PUSH_SHA = hashlib.sha1(_PUSH.encode()).hexdigest()


def send(
    writes: Iterable[tuple[str, bytes, int]], pushes: Iterable[tuple[Buffer, dict]]
) -> list[str]:
    """``SET key value EX seconds`` writes and buffer pushes (:meth:`Buffer.push`) in one round
    trip: a pipeline, not a transaction. Returns each push's status (``"queued"``,
    ``"dropped"``, ``"failed"``); a failed write is logged, never raised. A request's cache
    writes and log rows travel together this way (``recommend.serving.cache.request_writes_send``)."""
    writes, pushes = list(writes), list(pushes)
    if not writes and not pushes:
        return []
    payloads = [json.dumps(row, default=str) for _, row in pushes]
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, value, timeout in writes:
            pipe.set(key, value, ex=timeout)
        for (buffer, _), payload in zip(pushes, payloads, strict=True):
            pipe.evalsha(
                _PUSH_SHA, 2, buffer.key, buffer.dropped_key, payload, settings.BUFFER_MAX_ROWS
            )
        results = pipe.execute(raise_on_error=False)
    except Exception:
        logger.warning(
            "request writes failed (%d writes, %d pushes)", len(writes), len(pushes), exc_info=True
        )
        return ["failed"] * len(pushes)
    for (key, _, _), result in zip(writes, results, strict=False):
        if isinstance(result, Exception):
            logger.warning("cache write %s failed: %s", key, result)
    statuses = []
    for (buffer, row), result in zip(pushes, results[len(writes) :], strict=True):
        if isinstance(result, Exception):  # NOSCRIPT after a Redis restart: push on its own
            statuses.append(buffer.push(row))
        elif not result:
            logger.warning(
                "buffer %s is full (%s rows): row dropped", buffer.name, settings.BUFFER_MAX_ROWS
            )
            statuses.append("dropped")
        else:
            statuses.append("queued")
    return statuses


@dataclass(frozen=True)
class FlushResult:
    """What one flush did: rows claimed, rows written (or already stored), rows dead-lettered."""

    taken: int = 0
    written: int = 0
    dead: int = 0

    def __add__(self, other: FlushResult) -> FlushResult:
        return FlushResult(
            self.taken + other.taken, self.written + other.written, self.dead + other.dead
        )


@dataclass(frozen=True)
class DeadLetter:
    """A row that could not be stored, as it was queued, with the error that stopped it."""

    buffer: str
    raw: str  # the exact dead-letter entry (what retry/discard remove)
    row: str
    error: str
    failed_at: str

    @property
    def request_id(self) -> str:
        try:
            return str(json.loads(self.row).get("request_id") or "")
        except (ValueError, AttributeError):
            return ""


@dataclass
class Buffer:
    """A named Redis list of JSON rows with claims, a dead-letter list and a drop counter."""

    name: str
    key: str
    description: str = ""
    _scripts: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        REGISTRY[self.name] = self

    # keys
    @property
    def claims_key(self) -> str:
        return f"{self.key}:claims"

    @property
    def dead_key(self) -> str:
        return f"{self.key}:dead"

    @property
    def dropped_key(self) -> str:
        return f"{self.key}:dropped"

    def processing_key(self, token: str) -> str:
        return f"{self.key}:processing:{token}"

    def _script(self, name: str, body: str):
        client = redis_client()
        script = self._scripts.get(name)
        if script is None or script.registered_client is not client:
            script = self._scripts[name] = client.register_script(body)
        return script

    # request path
    def push(self, row: dict[str, Any]) -> str:
        """Queue one row without ever blocking: ``"queued"``; ``"dropped"`` when the buffer
        holds ``BUFFER_MAX_ROWS`` (counted in ``<key>:dropped``); ``"failed"`` when Redis is
        unreachable (the caller decides whether to write directly)."""
        payload = json.dumps(row, default=str)
        try:
            queued = self._script("push", _PUSH)(
                keys=[self.key, self.dropped_key], args=[payload, settings.BUFFER_MAX_ROWS]
            )
        except Exception:
            logger.warning("buffer %s: push failed", self.name, exc_info=True)
            return "failed"
        if not queued:
            logger.warning(
                "buffer %s is full (%s rows): row dropped", self.name, settings.BUFFER_MAX_ROWS
            )
            return "dropped"
        return "queued"

    # flush path
    def claim(self, count: int) -> tuple[str, list[bytes]]:
        """Move up to ``count`` rows into a fresh processing list; ``(token, raw rows)``."""
        token = uuid.uuid4().hex
        items = self._script("claim", _CLAIM)(
            keys=[self.key, self.processing_key(token), self.claims_key],
            args=[count, time.time(), token],
        )
        return token, list(items)

    def ack(self, token: str, dead: Iterable[DeadLetter] = ()) -> None:
        """The claim is done: add its dead letters and drop it, in one transaction."""
        pipe = redis_client().pipeline(transaction=True)
        for letter in dead:
            pipe.rpush(self.dead_key, letter.raw)
        pipe.delete(self.processing_key(token))
        pipe.zrem(self.claims_key, token)
        pipe.execute()

    def release(self, token: str) -> int:
        """Give a claim's rows back to the head of the buffer (its flusher died or gave up)."""
        return int(
            self._script("release", _RELEASE)(
                keys=[self.key, self.processing_key(token), self.claims_key], args=[token]
            )
        )

    # reading
    def pending(self) -> int:
        return int(redis_client().llen(self.key))

    def stats(self) -> dict[str, int]:
        """Backlog, rows held by claims, dead letters, drops: one round trip."""
        client = redis_client()
        tokens = [
            t.decode() if isinstance(t, bytes) else t for t in client.zrange(self.claims_key, 0, -1)
        ]
        pipe = client.pipeline(transaction=False)
        pipe.llen(self.key)
        pipe.llen(self.dead_key)
        pipe.get(self.dropped_key)
        for token in tokens:
            pipe.llen(self.processing_key(token))
        values = pipe.execute()
        return {
            "pending": int(values[0]),
            "dead_letters": int(values[1]),
            "dropped": int(values[2] or 0),
            "claimed": sum(int(v) for v in values[3:]),
            "claims": len(tokens),
        }

    def dead_letters(self, limit: int = 500) -> list[DeadLetter]:
        letters = []
        for raw in redis_client().lrange(self.dead_key, 0, limit - 1):
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            try:
                entry = json.loads(text)
            except ValueError:
                entry = {"row": text, "error": "unreadable dead letter", "failed_at": ""}
            letters.append(
                DeadLetter(
                    buffer=self.name,
                    raw=text,
                    row=str(entry.get("row", "")),
                    error=str(entry.get("error", "")),
                    failed_at=str(entry.get("failed_at", "")),
                )
            )
        return letters

    def dead_letter_retry(self, raw: str) -> bool:
        """Put a dead letter's row back in the buffer; False if it was no longer there."""
        entry = json.loads(raw)
        return bool(
            self._script("retry", _RETRY)(keys=[self.dead_key, self.key], args=[raw, entry["row"]])
        )

    def dead_letter_discard(self, raw: str) -> bool:
        return bool(redis_client().lrem(self.dead_key, 1, raw))

    def dead_letter_add(self, row: dict[str, Any], error: str) -> DeadLetter:
        """Put ``row`` in the dead-letter list with ``error``, as a failed flush would (the
        Academy's reliability lab plants rows for a learner to recover this way)."""
        letter = _dead_letter(self, json.dumps(row, default=str), error)
        redis_client().rpush(self.dead_key, letter.raw)
        return letter


REGISTRY: dict[str, Buffer] = {}


def _dead_letter(buffer: Buffer, row: str, error: BaseException | str) -> DeadLetter:
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    entry = {
        "row": row,
        "error": message[:2000],
        "failed_at": datetime.now(UTC).isoformat(),
        "buffer": buffer.name,
    }
    return DeadLetter(
        buffer=buffer.name,
        raw=json.dumps(entry),
        row=row,
        error=entry["error"],
        failed_at=entry["failed_at"],
    )


def _write_one(write: Callable[[list[dict]], Any], row: dict) -> None:
    from django.db import transaction

    with transaction.atomic():
        write([row])


def flush(
    buffer: Buffer,
    write: Callable[[list[dict]], Any],
    *,
    batch_size: int = 1000,
    max_rows: int = 200_000,
) -> FlushResult:
    """Claim, write, dead-letter and acknowledge batches until the buffer is empty or
    ``max_rows`` were taken. ``write`` stores a list of decoded rows idempotently."""
    from django.db import transaction

    result = FlushResult()
    while result.taken < max_rows:
        token, items = buffer.claim(min(batch_size, max_rows - result.taken))
        if not items:
            break
        rows, texts, dead = [], [], []
        for item in items:
            text = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
            try:
                row = json.loads(text)
                if not isinstance(row, dict):
                    raise ValueError("a buffered row must be a JSON object")
            except ValueError as exc:
                dead.append(_dead_letter(buffer, text, exc))
                continue
            rows.append(row)
            texts.append(text)
        written = 0
        if rows:
            try:
                with transaction.atomic():
                    write(rows)
                written = len(rows)
            except Exception as batch_error:
                logger.warning(
                    "buffer %s: a batch of %d failed (%s); retrying row by row",
                    buffer.name,
                    len(rows),
                    batch_error,
                )
                for row, text in zip(rows, texts, strict=True):
                    try:
                        _write_one(write, row)
                        written += 1
                    except Exception as exc:
                        logger.error("buffer %s: row dead-lettered: %s", buffer.name, exc)
                        dead.append(_dead_letter(buffer, text, exc))
        buffer.ack(token, dead)
        result = result + FlushResult(taken=len(items), written=written, dead=len(dead))
    return result


def reclaim_stale(*, older_than: float | None = None) -> dict[str, int]:
    """Give back the rows of claims older than ``older_than`` seconds (default
    ``BUFFER_CLAIM_STALE_SECONDS``): their flusher died. Returns rows moved per buffer."""
    age = settings.BUFFER_CLAIM_STALE_SECONDS if older_than is None else older_than
    cutoff = time.time() - age
    moved = {}
    for buffer in REGISTRY.values():
        tokens = redis_client().zrangebyscore(buffer.claims_key, "-inf", cutoff)
        count = sum(buffer.release(t.decode() if isinstance(t, bytes) else t) for t in tokens)
        if count:
            logger.warning(
                "buffer %s: %d rows of %d stale claims re-queued", buffer.name, count, len(tokens)
            )
        moved[buffer.name] = count
    return moved


def health() -> dict[str, Any]:
    """Each buffer's stats and whether they are over the readiness thresholds."""
    per_buffer = {name: buffer.stats() for name, buffer in sorted(REGISTRY.items())}
    problems = []
    for name, stats in per_buffer.items():
        backlog = stats["pending"] + stats["claimed"]
        if backlog > settings.READYZ_BUFFER_BACKLOG_DEGRADED:
            problems.append(
                f"{name}: {backlog} rows waiting (> {settings.READYZ_BUFFER_BACKLOG_DEGRADED})"
            )
        if stats["dead_letters"] > settings.READYZ_DEAD_LETTERS_DEGRADED:
            problems.append(
                f"{name}: {stats['dead_letters']} dead letters (> {settings.READYZ_DEAD_LETTERS_DEGRADED})"
            )
    return {"buffers": per_buffer, "problems": problems}
