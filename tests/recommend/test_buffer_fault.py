"""Fault test: the flushing worker is killed in the middle of a flush, and nothing is lost.

A real Celery worker process claims a batch of search logs and is blocked inside its INSERT (the
test holds a lock on the table), then gets SIGKILL. After a restart, the re-queue task and a
flush run on a fresh worker: the request ids the clients received and the stored search logs
are the same set, each stored once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from recommend.buffers import SEARCHLOG
from tests.conftest import REPO, _worker_env
from tests.recommend.test_buffers import _clear_buffers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = f"flush-fault-{os.getpid()}"  # a queue only this test's workers consume


def _start_worker(tmp_path, name: str, **env) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  (closed with the process)
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "platform_core",
        "worker",
        "-Q",
        QUEUE,
        "--pool",
        "solo",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env={**_worker_env(settings.ARTIFACTS_DIR), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_path = tmp_path / f"{name}.log"
    return proc


def _wait(condition, what: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"worker exited while waiting for {what}:\n{proc.log_path.read_text()[-3000:]}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{proc.log_path.read_text()[-3000:]}")


def _stored(request_ids) -> set[str]:
    from catalog.models import SearchLog

    return set(
        SearchLog.objects.filter(request_id__in=request_ids).values_list("request_id", flat=True)
    )


def test_a_flusher_killed_mid_flush_loses_nothing(serving_store, storefront, tmp_path):
    from catalog.models import SearchLog
    from platform_core.connection_urls import database_url
    from platform_core.tasks import buffers_reclaim
    from recommend.tasks import flush_searchlogs

    _clear_buffers()
    served = [
        storefront.get("/api/v1/search", {"q": q}).json()["request_id"]
        for q in ("kettle", "laptop", "mug", "headphones", "desk lamp") * 6
    ]
    assert len(set(served)) == 30 and SEARCHLOG.pending() == 30

    first = _start_worker(tmp_path, "doomed")
    try:
        with psycopg.connect(database_url(connection.settings_dict), autocommit=False) as locker:
            # the worker claims its batch, then waits on this lock inside its INSERT
            locker.execute("LOCK TABLE catalog_searchlog IN ACCESS EXCLUSIVE MODE")
            flush_searchlogs.apply_async(queue=QUEUE)
            _wait(
                lambda: SEARCHLOG.stats()["claimed"] == 30, "the worker to claim the batch", first
            )
            _wait(
                lambda: (
                    locker.execute(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'catalog_searchlog' AND NOT l.granted"
                    ).fetchone()[0]
                    > 0
                ),
                "the worker's INSERT to wait on the lock",
                first,
            )
            os.killpg(first.pid, signal.SIGKILL)  # mid-flush: rows claimed, nothing written
            first.wait(timeout=30)
            locker.rollback()
        stats = SEARCHLOG.stats()
        assert (stats["pending"], stats["claimed"], stats["claims"]) == (
            0,
            30,
            1,
        )  # held in Redis, not lost
        assert not _stored(served)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    # restart: a fresh worker re-queues the dead flusher's claim and flushes it
    second = _start_worker(tmp_path, "restarted", BUFFER_CLAIM_STALE_SECONDS="0")
    try:
        buffers_reclaim.apply_async(queue=QUEUE)
        flush_searchlogs.apply_async(queue=QUEUE)
        _wait(lambda: _stored(served) == set(served), "every served search to be stored", second)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    assert SearchLog.objects.filter(request_id__in=served).count() == 30  # once each
    assert SEARCHLOG.stats() == {
        "pending": 0,
        "dead_letters": 0,
        "dropped": 0,
        "claimed": 0,
        "claims": 0,
    }
