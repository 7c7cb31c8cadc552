"""A web worker loads its models after gunicorn forks it; /readyz is not ready until then, and
the first search it serves loads nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_warmup_state():
    from recommend.serving import loaders, warmup

    saved = (warmup.state(), warmup._thread, list(loaders._on_request))
    yield warmup
    state, thread, on_request = saved
    warmup._state.update(state)
    warmup._thread = thread
    loaders._on_request[:] = on_request


@pytest.mark.django_db
def test_readyz_fails_while_the_worker_loads_its_models(client, fresh_warmup_state):
    from recommend import services

    warmup = fresh_warmup_state
    services.aggregates_refresh()
    lazy = client.get("/readyz").json()["checks"]["models"]
    assert lazy["status"] == "ok" and lazy["detail"]["status"] == "not started"

    warmup._state.update(status=warmup.LOADING)
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "fail"
    assert "loading" in resp.json()["checks"]["models"]["detail"]

    warmup._state.update(status=warmup.FAILED, errors=["retriever 7: OSError: no weights"])
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.json()["checks"]["models"]["status"] == "degraded"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_fresh_gunicorn_is_ready_only_once_warm_and_its_first_search_loads_nothing(tmp_path):
    from catalog.models import SearchLog
    from platform_core.connection_urls import database_url
    from platform_core.services import api_client_create
    from recommend import services
    from recommend.serving import warmup
    from tests.factories.catalog import CategoryFactory, ProductFactory
    from tests.factories.training import ModelVersionFactory

    category = CategoryFactory(external_id="audio", name="Audio")
    for n, title in enumerate(["wireless headphones", "noise cancelling headphones", "kettle"]):
        ProductFactory(external_id=f"p{n}", title=title, category=category)
    retriever = ModelVersionFactory(task="retriever", is_active=True)  # the packaged MiniLM
    services.strategy_ensure_defaults()
    services.aggregates_refresh()
    _, key = api_client_create(name="warm-store", scopes="read")

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_DB": str(settings.REDIS_DB),
        "DATA_DIR": str(settings.DATA_DIR),
        "AISLE_SKIP_SERVICES": "1",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [
        *(sys.executable, "-m", "gunicorn", "platform_core.wsgi"),
        *("--config", "python:platform_core.gunicorn_config", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "1", "--threads", "2", "--timeout", "300"),
    ]
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300  # a cold start takes minutes under a high load average
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                status, body = _get(f"{base}/readyz")
            except OSError:
                status, body = 0, {}
            if status == 503:  # still loading: the models check says so, nothing else fails
                assert body["checks"]["models"]["status"] == "fail", body
            if status == 200:
                break
            assert time.time() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        models = body["checks"]["models"]
        assert models["status"] == "ok", models
        assert models["detail"]["status"] == "ready"
        assert f"retriever {retriever.pk}" in models["detail"]["loaded"]
        assert f"vector index {retriever.pk}" in models["detail"]["loaded"]
        assert {
            "url patterns",
            "spelling",
            "request pool",
            "api keys",
            "context search",
            "aggregates",
        } <= set(models["detail"]["loaded"])
        assert models["detail"]["loaded_on_request"] == []
        # what it loaded is frozen out of the collector's walks (settle_collector)
        collector = models["detail"]["collector"]
        assert collector["frozen"] > 100_000, collector
        assert collector["threshold"] == list(warmup.COLLECTOR_THRESHOLD), collector

        status, found = _get(
            f"{base}/api/v1/search?q=headphones", {"Authorization": f"Api-Key {key}"}
        )
        assert status == 200, found
        assert {r["product"]["id"] for r in found["results"]} >= {"p0", "p1"}
        # the one worker served that search without loading any model on its path
        _, after = _get(f"{base}/readyz")
        assert after["checks"]["models"]["detail"]["loaded_on_request"] == []

        # its log row left after the response, from close(): the worker sent it all the same
        def logged() -> bool:
            services.searchlogs_flush()
            return SearchLog.objects.filter(request_id=found["request_id"]).exists()

        wait_for(logged, timeout=60, what="the search's log row")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.django_db
def test_the_pool_warm_up_runs_its_statement_on_every_pool_thread():
    """Each pool thread's database session runs the warm-up's statement once (a fresh
    session's first lexical statement is the slow one)."""
    import threading

    from recommend.serving import pool

    names: list[str] = []
    try:
        pool.warm_connections(lambda: names.append(threading.current_thread().name))
    finally:
        pool.close_pool_connections()
    assert len(set(names)) == len(names) == pool._pool._max_workers
    assert all(name.startswith("recommend-db") for name in names)


@pytest.mark.django_db
def test_the_warm_up_holds_the_stored_aggregates():
    """Intent's rank step reads them on every search: the first one read the blob (10 ms of a
    36 ms first search on the demo store)."""
    from recommend import aggregates
    from recommend.serving import warmup

    stored = aggregates.Aggregates(stamp="2026-12-07T08:00:00:warm", trending=[(1, 1.0)])
    aggregates.store(stored)
    aggregates._latest.clear()
    try:
        loaded, errors = warmup.warm()
        assert "aggregates" in loaded and not errors
        assert aggregates.last_seen() == stored
    finally:
        from recommend.serving.pool import close_pool_connections

        close_pool_connections()
