"""Parallel database work of a request: a small thread pool whose threads hold their own
connections (inline inside a transaction)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, connection

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="recommend-db")


def close_pool_connections() -> None:
    """Close the database connection of every pool thread (tests, and before a database is
    dropped): one task per thread, held at a barrier so that each lands on its own thread."""
    import threading

    from django.db import connections

    workers = _pool._max_workers
    barrier = threading.Barrier(workers)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        connections.close_all()

    for future in [_pool.submit(close) for _ in range(workers)]:
        future.result()


def warm_connections(then: Callable[[], Any] | None = None) -> None:
    """Start every pool thread and open its connection (a web worker's warm-up): the first
    requests then neither start threads nor connect. ``then``: run on each thread once it is
    connected (a query that loads what a fresh database session loads on its first search).
    One task per thread, held at a barrier."""
    import threading

    workers = _pool._max_workers
    barrier = threading.Barrier(workers)

    def connect() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        close_old_connections()
        connection.ensure_connection()
        if then is not None:
            then()

    for future in [_pool.submit(connect) for _ in range(workers)]:
        future.result()


def _run_with_connection(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn`` on this thread's connection, dropped first when expired or left broken.

    Django's health check (``CONN_HEALTH_CHECKS``) would send a ``SELECT 1`` before each
    task's first statement: a round trip on the critical path of the stage the task runs
    (the lexical retriever). The connection is checked by use instead: when the task fails
    and the connection turns out unusable (the server restarted, the session was killed),
    the task runs once more on a fresh connection. Every task here reads."""
    connection.close_if_unusable_or_obsolete()  # expired, or broken by an earlier task
    connection.health_check_done = True
    try:
        return fn(*args)
    except Exception:
        if connection.connection is not None and not connection.is_usable():
            connection.close()
            return _retried(fn, *args)
        connection.close_if_unusable_or_obsolete()
        raise


def _retried(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)  # connects afresh
    except Exception:
        connection.close_if_unusable_or_obsolete()
        raise


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn`` on a pool thread with its own connection, or inline when the caller is inside
    a transaction: another connection could not see its uncommitted rows (tests, or
    ``ATOMIC_REQUESTS``), so both queries must share the caller's snapshot."""
    if connection.in_atomic_block:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future
    return _pool.submit(_run_with_connection, fn, *args)
