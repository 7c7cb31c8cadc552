"""Generation counters and process caches: the platform's one place for both.

A **generation** is a small integer in the Django cache (Redis) that writers bump. Readers put
it in cache keys, so one bump invalidates every dependent entry at once, and key process
caches by it, so a request learns in one ``MGET`` whether anything changed
(:func:`read_generations`). Each counter is defined once, here or in the module that owns it,
and bumped by calling :meth:`Generation.bump`, never by writing its key.

A **process cache** holds values in this process's memory: one value rebuilt when a generation
changes (:class:`GenerationalValue`), one value rebuilt after a time to live
(:class:`TimedValue`), or a few values by key (:class:`KeyedCache`, e.g. loaded models). Each
registers itself by name when it is created; :func:`reset_all` empties them all (tests, and the
bench between databases), so nothing outside the owning module touches their insides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.core.cache import cache

from platform_core import buffers

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- generations


def _raw_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class Generation:
    """A counter in the Django cache; 0 until first bumped."""

    def __init__(self, key: str) -> None:
        self.key = key

    def bump(self) -> int:
        """Increment (creating the counter when missing) and return the new value."""
        try:
            return cache.incr(self.key)
        except ValueError:  # key missing: incr needs an existing key
            cache.add(self.key, 0, timeout=None)
            return cache.incr(self.key)

    def __repr__(self) -> str:
        return f"Generation({self.key!r})"


def read_generations(
    *counters: Generation, read: Mapping[str, Any] | None = None
) -> tuple[int, ...]:
    """The counters' values in one round trip (0 for a missing one, or all 0 when Redis fails).
    ``read``: ``{counter key: raw value}`` already read in another round trip (a request's API
    key check: ``platform_core.api.authentication``); used when it holds every counter.

    Read with the raw client (Django's cache builds a client object per call, a measurable
    cost per request); the values are the plain integers ``cache.incr`` stores.
    """
    if read and all(c.key in read for c in counters):
        return tuple(_raw_int(read[c.key]) for c in counters)
    try:
        values = buffers.redis_client().mget([cache.make_key(c.key) for c in counters])
    except Exception:
        logger.warning("generation read failed", exc_info=True)
        return (0,) * len(counters)
    return tuple(_raw_int(v) for v in values)


#: The model versions serving uses: Training bumps it whenever a version is promoted or rolled
#: back (:func:`bump_models_generation`); serving keys its loaded-version caches and cached
#: results by it.
MODELS_GENERATION = Generation("serving:models-generation")


def bump_models_generation() -> int:
    """Tell every serving process that the served model versions changed."""
    return MODELS_GENERATION.bump()


# --------------------------------------------------------------------------- process caches

_registry: dict[str, ProcessCache] = {}
_registry_lock = threading.Lock()


class ProcessCache:
    """Base of the process caches: a name in the registry and :meth:`clear`.

    ``loaded_models``: the cache holds loaded models, expensive to rebuild and independent of
    the database; :func:`reset_all` keeps them unless asked.
    """

    def __init__(self, name: str, *, loaded_models: bool = False) -> None:
        self.name = name
        self.loaded_models = loaded_models
        self._lock = threading.Lock()
        with _registry_lock:
            _registry[name] = self

    def clear(self) -> None:
        raise NotImplementedError


class GenerationalValue(ProcessCache):
    """One value, rebuilt when its generation changes (one builder at a time)."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._generation: Any = object()
        self._value: Any = None

    def get(self, generation: Hashable, build: Callable[[], Any]) -> Any:
        if self._generation == generation:
            return self._value
        with self._lock:
            if self._generation != generation:
                self._value = build()
                self._generation = generation
        return self._value

    def clear(self) -> None:
        with self._lock:
            self._generation = object()
            self._value = None


class TimedValue(ProcessCache):
    """One value, rebuilt after ``ttl`` seconds (one builder at a time). A build that returns
    None stores nothing and is returned: the next call builds again.

    ``background`` (the serving caches a request meets): once a value is held, an expired one is
    still returned while ``background(refresh)`` rebuilds it elsewhere, one refresh at a time,
    so that no request waits on a rebuild (a search met the spelling vocabulary's check, a count
    over every active product, once a minute per process). Until a value is held, and when
    ``background`` raises, the caller builds, as without it."""

    def __init__(
        self,
        name: str,
        ttl: float,
        *,
        background: Callable[[Callable[[], None]], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.ttl = ttl
        self._at = -1e18
        self._value: Any = None
        self._background = background
        self._refreshing = False
        self._epoch = 0  # bumped by clear(): a refresh started before it stores nothing

    @property
    def value(self) -> Any:
        """The value held now, however old (None when none)."""
        return self._value

    def get(self, build: Callable[[], Any]) -> Any:
        if time.monotonic() - self._at < self.ttl:
            return self._value
        if self._background is not None and self._value is not None:
            with self._lock:
                if self._refreshing or time.monotonic() - self._at < self.ttl:
                    return self._value
                self._refreshing = True
            epoch = self._epoch
            try:
                self._background(lambda: self._refresh(build, epoch))
                return self._value  # the held one (or the new one: a background that ran inline)
            except Exception:
                self._refreshing = False
                logger.warning("background refresh of %s not started", self.name, exc_info=True)
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                value = build()
                if value is None:
                    return None
                self._value, self._at = value, time.monotonic()
        return self._value

    def _refresh(self, build: Callable[[], Any], epoch: int) -> None:
        try:
            value = build()
            if value is not None:
                with self._lock:
                    if epoch == self._epoch:
                        self._value, self._at = value, time.monotonic()
        except Exception:  # the held value stays; the next expired read tries again
            logger.warning("background refresh of %s failed", self.name, exc_info=True)
        finally:
            self._refreshing = False

    def set(self, value: Any) -> None:
        """Hold ``value`` from now on (a writer in this process that has just computed it)."""
        with self._lock:
            self._value, self._at = value, time.monotonic()

    def clear(self) -> None:
        with self._lock:
            self._value, self._at = None, -1e18
            self._refreshing = False
            self._epoch += 1


class KeyedCache(ProcessCache):
    """``{key: value}`` with one loader at a time; beyond ``max_items`` the oldest entry goes."""

    def __init__(self, name: str, *, max_items: int | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.max_items = max_items
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        item = self._items.get(key)
        if item is not None:
            return item
        with self._lock:
            if key not in self._items:
                self._items[key] = load()
                while self.max_items is not None and len(self._items) > self.max_items:
                    self._items.popitem(last=False)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Hold ``value`` under ``key`` (a model already loaded by the caller: tests, bench)."""
        with self._lock:
            self._items[key] = value
            while self.max_items is not None and len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def registered() -> dict[str, ProcessCache]:
    """The process caches by name (those of the modules imported so far)."""
    with _registry_lock:
        return dict(_registry)


def reset_all(*, loaded_models: bool = False) -> None:
    """Empty every process cache; caches of loaded models only with ``loaded_models``."""
    for process_cache in registered().values():
        if loaded_models or not process_cache.loaded_models:
            process_cache.clear()
