"""/metrics under gunicorn with two worker processes: one scrape sums what both counted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.platform_core.test_metrics import samples, value

pytestmark = [pytest.mark.slow, pytest.mark.worker]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def _served(access_log: Path, path: str) -> list[str]:
    """The worker pid of every request for ``path`` the access log records."""
    if not access_log.exists():
        return []
    return [
        line.split()[0]
        for line in access_log.read_text().splitlines()
        if len(line.split()) == 2 and line.split()[1] == path
    ]


def _pids(access_log: Path, path: str) -> set[str]:
    return set(_served(access_log, path))


@pytest.fixture
def gunicorn_two_workers(django_db_setup, tmp_path):
    from platform_core.connection_urls import database_url

    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_99999.db").write_bytes(b"left by an earlier run")  # emptied at start
    access_log = tmp_path / "access.log"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_DB": str(settings.REDIS_DB),
        "DATA_DIR": str(settings.DATA_DIR),
        "AISLE_SKIP_SERVICES": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "platform_core.wsgi",
        "--config",
        "python:platform_core.gunicorn_config",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "2",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(U)s",
    ]
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300  # a cold start takes minutes under a load average of 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            _get(f"{base}/healthz")
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.3)
    yield base, access_log, multiproc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_two_workers_counters_are_summed_in_one_scrape(gunicorn_two_workers):
    base, access_log, multiproc = gunicorn_two_workers
    assert not (multiproc / "counter_99999.db").exists()

    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        # concurrent requests until both workers have answered some (the kernel picks one)
        while len(_pids(access_log, "/healthz")) < 2 and sent < 800:
            list(pool.map(_get, [f"{base}/healthz"] * 16))
            sent += 16
            time.sleep(0.05)
    assert len(_pids(access_log, "/healthz")) == 2, "one worker served everything"
    assert len(list(multiproc.glob("*.db"))) >= 2  # each worker writes its own files

    # every request the workers served (the fixture's start-up probes too, a slow one included)
    # (a worker writes its access line just after the response: wait until the count settles)
    served, deadline = -1, time.time() + 60  # ends as soon as the count settles
    while time.time() < deadline:
        time.sleep(0.5)
        now = len(_served(access_log, "/healthz"))
        if now == served and now >= sent:
            break
        served = now
    assert served >= sent
    figures = samples(_get(f"{base}/metrics").decode())
    count = value(
        figures,
        "aisle_http_request_duration_seconds_count",
        endpoint="/healthz",
        method="GET",
        status="2xx",
    )
    assert count == served
    assert value(figures, "aisle_metrics_source_up", source="jobs") == 1
