import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from platform_core import services
from platform_core.models import ApiClient, AuditLog

pytestmark = pytest.mark.django_db


def _client(key=None):
    c = APIClient()
    if key:
        c.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return c


def test_command_prints_key_alone_on_last_line_and_stores_only_a_hash():
    out = StringIO()
    call_command("create_api_client", "shop", "--scopes", "read,events,write-catalog", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = ApiClient.objects.get(name="shop")
    assert key.startswith("ak_") and " " not in key
    assert client.scopes == ["read", "events", "write-catalog"]
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiClient.objects.filter(pk=client.pk).values().first())
    resp = _client(key).get("/api/v1/whoami")
    assert resp.status_code == 200
    assert resp.json() == {
        "client": "shop",
        "scopes": ["read", "events", "write-catalog"],
        "public": False,
    }
    services.api_client_usage_flush()  # beat's job, every minute
    client.refresh_from_db()
    assert client.request_count == 1 and client.last_used_at is not None


def test_command_rejects_unknown_scope():
    with pytest.raises(CommandError, match="Unknown scope.*bogus"):
        call_command("create_api_client", "x", "--scopes", "read,bogus", stdout=StringIO())


def test_public_key_cannot_write_catalog():
    with pytest.raises(Exception, match="public key"):
        services.api_client_create(name="web", scopes="read,write-catalog", public=True)


@pytest.mark.parametrize(
    "header, message",
    [
        (None, "Send an API key"),
        ("Api-Key ak_nothere_xyz", "Unknown API key"),
        ("Api-Key ", "carries no key"),
    ],
)
def test_missing_or_unknown_key_is_a_json_401(header, message):
    c = APIClient()
    if header is not None:
        c.credentials(HTTP_AUTHORIZATION=header)
    resp = c.get("/api/v1/whoami")
    assert resp.status_code in (401, 403)
    body = resp.json()
    assert set(body) == {"error"} and message in body["error"]["message"]
    assert body["error"]["code"]


def test_revoked_and_rotated_keys_stop_working(admin_user):
    client, key = services.api_client_create(name="shop", scopes="read")
    new_key = services.api_client_rotate(client=client, actor=admin_user)
    assert _client(key).get("/api/v1/whoami").status_code == 401
    assert _client(new_key).get("/api/v1/whoami").status_code == 200
    services.api_client_revoke(client=client, actor=admin_user)
    resp = _client(new_key).get("/api/v1/whoami")
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]
    actions = list(
        AuditLog.objects.filter(object_id=str(client.pk)).values_list("action", flat=True)
    )
    assert set(actions) == {"api_client.create", "api_client.rotate", "api_client.revoke"}


def test_unknown_api_path_is_json_404(storefront):
    resp = storefront.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_cors_allows_only_public_key_origins():
    services.api_client_create(
        name="web", scopes="read", public=True, allowed_origins=["https://shop.example.com"]
    )
    c = APIClient()
    ok = c.options(
        "/api/v1/whoami",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://shop.example.com"
    bad = c.options(
        "/api/v1/whoami",
        HTTP_ORIGIN="https://evil.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_admin_creates_client_and_shows_key_once(client, admin_user):
    client.force_login(admin_user)
    resp = client.post(
        "/admin/platform_core/apiclient/add/",
        {"name": "pos", "scopes": ["read", "events"], "allowed_origins": "", "active": "on"},
        follow=True,
    )
    assert resp.status_code == 200
    msgs = [str(m) for m in resp.context["messages"]]
    key = next(m for m in msgs if "API key" in m).rsplit(" ", 1)[-1]
    assert _client(key).get("/api/v1/whoami").json()["client"] == "pos"
    assert AuditLog.objects.filter(action="api_client.create", actor=admin_user).exists()


def test_request_counts_are_kept_in_redis_and_written_by_the_beat_task():
    from platform_core import tasks
    from platform_core.buffers import redis_client

    redis_client().delete(
        services.USAGE_COUNTS_KEY, services.USAGE_SEEN_KEY
    )  # earlier tests' requests
    client, key = services.api_client_create(name="busy", scopes="read")
    other, other_key = services.api_client_create(name="quiet", scopes="read")
    for _ in range(3):
        assert _client(key).get("/api/v1/whoami").status_code == 200
    _client(other_key).get("/api/v1/whoami")
    client.refresh_from_db()
    assert client.request_count == 0 and client.last_used_at is None  # no write inside a request
    assert tasks.api_client_usage_flush() == 4
    client.refresh_from_db()
    other.refresh_from_db()
    assert (client.request_count, other.request_count) == (3, 1)
    assert client.last_used_at is not None
    _client(key).get("/api/v1/whoami")
    assert tasks.api_client_usage_flush() == 1 and tasks.api_client_usage_flush() == 0
    client.refresh_from_db()
    assert client.request_count == 4
