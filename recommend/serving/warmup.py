"""Load the serving models in a web process before it serves, so the first search is not cold.

gunicorn calls :func:`start` in each worker after it forks and has loaded the application
(``post_worker_init`` in ``platform_core/gunicorn_config.py``): a background thread imports
torch, loads every model the surfaces' strategies serve with (the retriever's query encoder and
its tokenizer vocabulary, the ranker, the CF model, the intent classifier), runs one query
through the encoder and the classifier (the first forward pass is the slow one), builds the
typo corrector and the serving configuration, and opens the request pool's connections.

``/readyz``'s ``models`` check (blocking) fails while that runs, so a load balancer sends no
traffic to a worker still loading; a request that arrives anyway waits on the same loaders'
locks instead of loading a second copy. Each worker answers for itself. A process that never
called :func:`start` (``runserver``, the test client, a Celery worker) loads lazily, as before,
and the check says so.

Loading after the fork, never in gunicorn's master (``preload_app``): torch's thread pools
do not survive a fork, and each worker needs its own copy anyway.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

from platform_core.health import Degraded

logger = logging.getLogger(__name__)

NOT_STARTED, LOADING, READY, FAILED = "not started", "loading", "ready", "failed"
WARM_QUERY = "warm up"

_lock = threading.Lock()
_state: dict[str, Any] = {
    "status": NOT_STARTED,
    "loaded": [],
    "errors": [],
    "seconds": None,
    "collector": None,
}
#: A warmed worker's collector thresholds: a young-generation pass once 10,000 more objects are
#: alive than at the last one (CPython's default, 700, is crossed inside nearly every search).
COLLECTOR_THRESHOLD = (10_000, 10, 10)
_thread: threading.Thread | None = None


def state() -> dict[str, Any]:
    with _lock:
        return {**_state, "loaded": list(_state["loaded"]), "errors": list(_state["errors"])}


def start(*, wait: bool = False) -> threading.Thread:
    """Warm this process's models on a background thread (once per process)."""
    global _thread
    with _lock:
        if _thread is not None:
            thread = _thread
        else:
            _state.update(status=LOADING, loaded=[], errors=[], seconds=None)
            thread = _thread = threading.Thread(target=_run, name="aisle-warmup", daemon=True)
            thread.start()
    if wait:
        thread.join()
    return thread


def readiness() -> dict[str, Any]:
    """``/readyz``'s ``models`` check: fails while this process loads its models, degraded when
    one failed to load (the request path loads it again, or serves without it)."""
    current = state()
    if current["status"] == LOADING:
        raise RuntimeError("loading the serving models")
    detail = {
        "status": current["status"],
        "loaded": current["loaded"],
        "seconds": current["seconds"],
        "collector": current["collector"],
        "loaded_on_request": _loaded_on_request(),
    }
    if current["status"] == NOT_STARTED:
        detail["note"] = "this process loads its models on first use (not a web worker)"
    if current["status"] == FAILED:
        raise Degraded({**detail, "errors": current["errors"]})
    return detail


def _loaded_on_request() -> list[str]:
    from recommend.serving import loaders

    return loaders.loads_on_request()


def _run() -> None:
    from django.db import connections

    started = time.perf_counter()
    try:
        loaded, errors = warm()
        status = FAILED if errors else READY
    except Exception as exc:  # never kill the worker: the request path loads lazily instead
        logger.exception("model warm-up failed")
        loaded, errors, status = [], [f"{type(exc).__name__}: {exc}"[:300]], FAILED
    finally:
        connections.close_all()  # this thread's connection
    collector = settle_collector()
    seconds = round(time.perf_counter() - started, 2)
    with _lock:
        _state.update(
            status=status, loaded=loaded, errors=errors, seconds=seconds, collector=collector
        )
    logger.warning("serving models %s in %.1f s: %s", status, seconds, ", ".join(loaded) or "-")


def settle_collector() -> dict[str, Any]:
    """Once a worker has loaded what it serves with: one full collection, then every object
    still alive (the modules, the models, the process caches: ~630k in a web worker) moves to
    the collector's permanent generation, and young-generation passes get rarer
    (:data:`COLLECTOR_THRESHOLD`). Measured on served searches (bench/README.md): a full
    collection walked those objects for 340–400 ms about once every 300 searches, and the
    default threshold ran a young pass in nearly every search (0.2–0.3 ms a search). Frozen
    objects are still freed by reference counting; only a cycle among them would stay."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLD)
    return {"frozen": gc.get_freeze_count(), "threshold": list(gc.get_threshold())}


def warm() -> tuple[list[str], list[str]]:
    """Load what the surfaces' strategies serve with; returns (what loaded, what failed)."""
    from platform_core import api_keys
    from recommend import selectors
    from recommend.serving import loaders
    from recommend.serving.pool import warm_connections

    loaders.use_serving_threads()
    loaded: list[str] = []
    errors: list[str] = []

    def step(name: str, fn) -> None:
        if name in loaded:
            return
        try:
            with loaders.warming():
                fn()
            loaded.append(name)
        except Exception as exc:
            logger.warning("warm-up of %s failed", name, exc_info=True)
            errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])

    # The URLconf (and every view module it names) is imported by the first request otherwise:
    # 0.6 s of a fresh process's first search (bench/search_latency.py's first-search figure).
    step("url patterns", _url_patterns)
    config = selectors.serving_config()
    step("serving config", lambda: (selectors.category_tree(), selectors.brand_ids("")))
    surfaces = sorted({s.surface for s in config.strategies.values()} | set(config.defaults))
    strategies = [selectors.default_strategy(surface) for surface in surfaces]
    strategies += [s for s in config.strategies.values() if s not in strategies]
    warm_vectors: dict[int, Any] = {}  # the warm query's vector per retriever, encoded once
    for strategy in strategies:
        models = selectors.served_models(strategy)
        if (version := models.retriever) is not None:
            step(
                f"retriever {version.id}",
                lambda v=version: warm_vectors.setdefault(
                    v.id, loaders.encode_query(v, WARM_QUERY)
                ),
            )
            step(f"vocabulary {version.id}", lambda v=version: loaders.known_words(v))
            step(
                f"vector index {version.space_id}",
                lambda v=version: _vector_index(v, warm_vectors.get(v.id)),
            )
        if (version := models.ranker) is not None:
            step(f"ranker {version.id}", lambda v=version: loaders.ranker_scorer(v))
        if (version := models.cf) is not None:
            step(f"cf {version.id}", lambda v=version: loaders.cf_model(v))
        if (version := models.intent) is not None:
            step(f"intent {version.id}", lambda v=version: loaders.classify_intent(v, WARM_QUERY))
    for surface in surfaces:
        step(f"context {surface}", lambda s=surface: _context(s))
    step("spelling", loaders.spell_corrector)
    # the store-wide aggregates (trending, popularity, ratings): intent's rank step read them on
    # the first search, 10 ms of a 36 ms first search on the demo store (5k products)
    step("aggregates", _aggregates)
    # each pool thread's session runs the lexical statement once: a fresh session's first one
    # cost 13 ms more than the next (the tables' and functions' metadata it loads), in the
    # first searches' critical path, beside the query encoder
    step("request pool", lambda: warm_connections(_lexical_statement))
    step("api keys", api_keys.hold_active)
    return loaded, errors


def _vector_index(version, vector=None) -> None:
    """One nearest-neighbour search of the retriever's vector index on this process's
    connection: a fresh connection's first HNSW scan cost 172 ms at 100k products against
    10 ms for the next ones (bench/search_latency.py's first search, stage by stage)."""
    from recommend.serving import loaders, search
    from recommend.serving.retrievers import PgVectorIndex

    if vector is None:
        vector = loaders.encode_query(version, WARM_QUERY)
    index = PgVectorIndex(version.space_id, version.dimension or int(vector.shape[0]))
    index.search_planned(vector, search.MIN_CANDIDATES, None)


def _context(surface: str) -> None:
    """Resolve a request's context for ``surface`` as a request does (generations, strategy,
    experiment, models): 5.9 ms of the first search otherwise."""
    from datetime import UTC, datetime

    from recommend.serving.context import serving_context

    serving_context(
        surface,
        shopper_external_id=None,
        session="",
        now=datetime.now(UTC),
        simulated=False,
        read_only=True,
    )


def _aggregates() -> None:
    from recommend.aggregates import latest

    latest()


def _lexical_statement() -> None:
    from recommend.serving import search
    from recommend.serving.retrievers import PostgresLexicalIndex

    PostgresLexicalIndex().search_split_rows(WARM_QUERY, search.MIN_CANDIDATES, {})


def _url_patterns() -> None:
    from django.urls import get_resolver

    get_resolver().resolve("/api/v1/search")
