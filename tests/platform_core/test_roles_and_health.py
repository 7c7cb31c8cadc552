import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_roles_exist_with_their_permissions():
    operator = set(
        Group.objects.get(name="operator").permissions.values_list("codename", flat=True)
    )
    analyst = set(Group.objects.get(name="analyst").permissions.values_list("codename", flat=True))
    assert {"change_product", "add_job", "view_auditlog"} <= operator
    assert "change_apiclient" not in operator
    assert "view_product" in analyst and not any(
        p.startswith(("add_", "change_", "delete_")) for p in analyst
    )
    assert not Group.objects.get(name="learner").permissions.exists()


def test_learner_cannot_reach_admin(client, learner_user):
    client.force_login(learner_user)
    resp = client.get("/admin/catalog/product/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]


def test_analyst_reads_but_cannot_change(client, analyst_user):
    client.force_login(analyst_user)
    assert client.get("/admin/catalog/product/").status_code == 200
    assert client.get("/admin/catalog/product/add/").status_code == 403


def test_operator_cannot_manage_api_clients(client, operator_user):
    client.force_login(operator_user)
    assert client.get("/admin/catalog/product/add/").status_code == 200
    assert client.get("/admin/platform_core/apiclient/").status_code == 403


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


@pytest.fixture
def aggregates_computed():
    """Serving's aggregates as bootstrap leaves them (readiness waits for them)."""
    from django.core.cache import cache

    from recommend import aggregates

    aggregates.store(aggregates.Aggregates(stamp="2026-10-01T00:00:00+00:00:0"))
    yield
    cache.delete_many([aggregates.BLOB_KEY, aggregates.STAMP_KEY])


def test_readyz_without_a_worker_is_degraded_but_still_200(
    client, monkeypatch, aggregates_computed
):
    from platform_core.celery import app

    class NoReplies:
        def active_queues(self):
            return None

    monkeypatch.setattr(app.control, "inspect", lambda timeout=1.0: NoReplies())
    resp = client.get("/readyz")
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "degraded"
    assert (
        body["checks"]["database"]["status"] == "ok"
        and "pgvector" in body["checks"]["database"]["detail"]
    )
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "degraded"
    assert "no Celery worker" in body["checks"]["worker"]["detail"]
    assert all({"status", "detail", "latency_ms"} <= set(c) for c in body["checks"].values())
    assert body["checks"]["aggregates"]["status"] == "ok"


def test_readyz_waits_for_the_aggregates(client, monkeypatch):
    """A fresh installation is not ready before bootstrap computed trending: it would serve
    empty trending lists."""
    from django.core.cache import cache

    from recommend import aggregates

    cache.delete_many([aggregates.BLOB_KEY, aggregates.STAMP_KEY])
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "fail"
    assert "not computed yet" in resp.json()["checks"]["aggregates"]["detail"]


def test_readyz_fails_with_503_when_the_database_is_unreachable(client, monkeypatch):
    from platform_core import health

    def broken():
        raise OSError("connection refused")

    monkeypatch.setattr(health, "_database", broken)
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "fail"
    assert resp.json()["checks"]["database"] == {
        "status": "fail",
        "detail": "OSError: connection refused",
        "latency_ms": resp.json()["checks"]["database"]["latency_ms"],
    }
