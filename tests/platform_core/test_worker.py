"""A real worker process, the real Redis broker and the test database."""

import pytest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_and_readyz_is_ok(celery_worker_process, client):
    from platform_core.tasks import ping

    result = ping.delay("hello").get(timeout=30)
    assert result["value"] == "hello"
    assert result["pid"] == celery_worker_process.pid  # it ran in the worker, not eagerly here
    from recommend import services

    services.aggregates_refresh()  # as bootstrap does: readiness waits for them
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["checks"]["worker"]["status"] == "ok"
