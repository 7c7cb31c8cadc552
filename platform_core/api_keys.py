"""API keys as each process holds them: the row read once, then checked against a generation
in the same Redis round trip that counts the request.

Authenticating a storefront call used to read its ``ApiClient`` row (one SQL query per request)
and then count the request in Redis. Now a process keeps the rows it has authenticated, keyed
by the hash of the key presented, together with :data:`API_CLIENTS_GENERATION` as it was when
read. Each request runs one Lua script (:data:`_COUNT_IF_CURRENT`) that reads the generation and,
only when it still matches, counts the request: one Redis round trip, no SQL. Any write to an
API client (create, rotate, revoke, an edit in the admin: the ``post_save`` / ``post_delete``
signals) bumps the generation, so every process reads the row again on its next request with
that key; a revoked or rotated key stops working at once, in every process. A held row is also
re-read after :data:`HELD_SECONDS` whatever the generation says (a Redis flushed in between).

What else a request does in Redis before its view runs rides in the same script when its row is
held (:class:`Riders`): the view's throttle window and the generations it reads
(``platform_core.api.authentication``). A held key's storefront request then makes one round
trip before its view, where it made three.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from platform_core import buffers
from platform_core.caches import Generation, ProcessCache
from platform_core.ratelimit import WINDOW_FUNCTION

logger = logging.getLogger(__name__)

#: Bumped by every write to an API client (:func:`invalidate`).
API_CLIENTS_GENERATION = Generation("platform:api-clients-generation")
HELD_SECONDS = 300.0
MAX_HELD = 1000

# Count the request only when the client's row is still current; then, for the request, run
# its throttle window and read some keys in the same round trip (KEYS: generation, counts,
# last-used, [the throttle's set], keys to read; ARGV: generation held, client id, now, '1' and
# the window's now, span, limit and member, or '0'). Returns {generation} when the generation
# moved on (nothing else ran), else {generation, allowed, wait, values read...}; a missing
# generation or value is nil.
_COUNT_IF_CURRENT = (
    WINDOW_FUNCTION
    + """
local g = redis.call('GET', KEYS[1])
if (g or '0') ~= ARGV[1] then return {g} end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
local out = {g, false, false}
local first = 4
if ARGV[4] == '1' then
  out[2], out[3] = window(KEYS[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),
    ARGV[8])
  first = 5
end
for i = first, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
"""
)


@dataclass(frozen=True)
class Riders:
    """What a request with a held key does in the key's round trip: its throttle window
    (``(set key, [now, span, limit, member])``) and the Redis keys whose values it will read."""

    throttle: tuple[str, list] | None = None
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiderAnswers:
    """The riders' results: the throttle's ``(allowed, wait seconds)`` (None: none rode) and
    the values read, in order (None for a missing key)."""

    throttle: tuple[bool, float] | None
    values: tuple[Any, ...]


class _HeldClients(ProcessCache):
    """``{key hash: (ApiClient, generation, monotonic time read)}``, at most :data:`MAX_HELD`."""

    def __init__(self) -> None:
        super().__init__("platform.api-clients")
        self.items: dict[str, tuple[object, int, float]] = {}

    def get(self, key_hash: str):
        return self.items.get(key_hash)

    def put(self, key_hash: str, client, generation: int) -> None:
        with self._lock:
            if len(self.items) >= MAX_HELD:
                self.items.clear()
            self.items[key_hash] = (client, generation, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self.items.clear()


_held = _HeldClients()
_script_lock = threading.Lock()
_script = None


def _count_if_current():
    global _script
    client = buffers.redis_client()
    if _script is None or _script.registered_client is not client:
        with _script_lock:
            _script = client.register_script(_COUNT_IF_CURRENT)
    return _script


def held_client(
    key_hash: str,
    *,
    counts_key: str,
    seen_key: str,
    now: float,
    riders: Callable[[Any], Riders] | None = None,
):
    """The client held for this key hash when its row is still current, its request counted
    (one round trip); None when this process must read the row (and count the request) itself.
    Also returns the generation Redis holds now (0 when never bumped or unreadable), and what
    ``riders(held client)`` asked for, done in the same round trip (None when no row was held
    or it was no longer current: then nothing rode)."""
    entry = _held.get(key_hash)
    current = entry is not None and time.monotonic() - entry[2] < HELD_SECONDS
    expected = entry[1] if current else -1
    extra = Riders()
    if current and riders is not None:
        try:
            extra = riders(entry[0])
        except Exception:  # nothing rides: the request does those itself, as an unheld key's
            logger.warning("API key riders failed", exc_info=True)
    keys = [cache.make_key(API_CLIENTS_GENERATION.key), counts_key, seen_key]
    args = [str(expected), str(entry[0].pk) if entry else "0", str(now)]
    if extra.throttle is not None:
        keys.append(extra.throttle[0])
        args += ["1", *map(str, extra.throttle[1])]
    else:
        args.append("0")
    keys += extra.reads
    try:
        raw = _count_if_current()(keys=keys, args=args)
    except Exception:  # Redis down: read the row (the count is lost, as before)
        logger.warning("API key generation read failed", exc_info=True)
        return None, None, None
    generation = int(raw[0]) if raw[0] is not None else 0
    if entry is not None and generation == expected:
        throttle = None
        if extra.throttle is not None:  # (1, '') or (0, the wait in seconds)
            throttle = (bool(raw[1]), float(raw[2] or 0))
        return copy.copy(entry[0]), generation, RiderAnswers(throttle, tuple(raw[3:]))
    return None, generation, None


def hold(key_hash: str, client, generation: int | None) -> None:
    """Keep an active client's row read under ``generation`` (None: unknown, keep nothing)."""
    if generation is not None:
        _held.put(key_hash, copy.copy(client), generation)


def hold_active(limit: int = MAX_HELD // 2) -> int:
    """Hold the rows of the active clients (the most recently used first, at most ``limit``): a
    web worker's warm-up, so that a storefront's first call to a fresh worker reads no row
    either. The generation is read before the rows, as a request's own read does: a write in
    between leaves them held under an older generation, read again on their next use."""
    from platform_core.caches import read_generations
    from platform_core.models import ApiClient

    (generation,) = read_generations(API_CLIENTS_GENERATION)
    clients = list(
        ApiClient.objects.filter(active=True).order_by(F("last_used_at").desc(nulls_last=True))[
            :limit
        ]
    )
    for client in clients:
        _held.put(client.key_hash, client, generation)
    return len(clients)


def invalidate(**kwargs) -> None:
    """An API client changed: every process reads the rows again (signal receiver)."""
    _held.clear()
    _bump()
    # A process that reads the generation before this transaction commits would hold the old
    # row under the new generation: bump once more when the write is visible.
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        API_CLIENTS_GENERATION.bump()
    except Exception:  # held rows still expire after HELD_SECONDS
        logger.warning("API clients generation bump failed", exc_info=True)
