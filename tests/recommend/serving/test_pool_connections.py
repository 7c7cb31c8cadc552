"""The request pool's connections: checked by use, not by a ``SELECT 1`` before each task."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from recommend.serving import pool


def _answer() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 42")
        return cursor.fetchone()[0]


@pytest.fixture
def usable_checks(monkeypatch):
    """The health checks (``is_usable``) the pool threads run."""
    calls: list[str] = []
    original = DatabaseWrapper.is_usable

    def counted(self):
        if threading.current_thread().name.startswith("recommend-db"):
            calls.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    yield calls
    pool.close_pool_connections()


@pytest.mark.django_db(transaction=True)
def test_a_pool_task_on_a_working_connection_sends_no_health_check(usable_checks):
    pool.warm_connections()
    for _ in range(6):
        assert pool.submit(_answer).result(timeout=30) == 42
    assert usable_checks == []


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_session_was_killed_runs_again_on_a_fresh_connection(usable_checks):
    pids: list[int] = []
    lock = threading.Lock()

    def record_pid() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            with lock:
                pids.append(cursor.fetchone()[0])

    pool.warm_connections(record_pid)
    assert len(set(pids)) == pool._pool._max_workers
    with connection.cursor() as cursor:  # what a server restart does to every pool session
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
    for _ in range(pool._pool._max_workers + 2):
        assert pool.submit(_answer).result(timeout=30) == 42
    # a statement's own error is not retried: it reaches the caller once
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    with pytest.raises(Exception, match="division by zero"):
        pool.submit(failing).result(timeout=30)
    assert calls == [1]
