"""Export and forget a shopper through the API (scope ``privacy``), audited, with JSON errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from catalog.models import Event, SearchLog, Shopper
from platform_core.models import AuditLog
from platform_core.services import api_client_create
from tests.factories import EventFactory, SearchLogFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _caller(scopes: str, name: str = "back-office") -> APIClient:
    _, key = api_client_create(name=name, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def privacy_client() -> APIClient:
    return _caller("privacy")


@pytest.fixture
def alice():
    shopper = ShopperFactory(external_id="shop/alice-42", segment="premium", country="FR")
    EventFactory(
        shopper=shopper, type="review", value=5, review="Lovely, my name is Alice", session="sess-a"
    )
    EventFactory(shopper=shopper, type="view", session="sess-a")
    SearchLogFactory(shopper=shopper, session="sess-a", query="red shoes")
    EventFactory(shopper=ShopperFactory(external_id="bob"))
    return shopper


def _url(external_id: str, action: str) -> str:
    return f"/api/v1/shoppers/{external_id}/{action}"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return body["error"]


def test_export_returns_everything_held_and_is_audited_under_the_key(alice, privacy_client):
    response = privacy_client.get(_url("shop/alice-42", "export"))
    assert response.status_code == 200
    data = response.json()
    assert data["shopper"]["external_id"] == "shop/alice-42" and data["shopper"]["country"] == "FR"
    assert len(data["events"]) == 2 and data["searches"][0]["query"] == "red shoes"
    entry = AuditLog.objects.get(action="shopper.export")
    assert entry.actor is None and entry.actor_name == "api-client:back-office"
    assert entry.object_id.startswith("sha256:") and "alice" not in entry.object_repr
    assert Shopper.objects.filter(external_id="shop/alice-42").exists()  # export changes nothing


def test_forget_deletes_the_shopper_and_is_audited(alice, privacy_client, settings):
    settings.SHOPPER_FORGET_MODE = "delete"
    response = privacy_client.post(_url("shop/alice-42", "forget"))
    assert response.status_code == 200
    body = response.json()
    assert (
        body["mode"] == "delete"
        and body["counts"]["events"] == 2
        and body["counts"]["searches"] == 1
    )
    assert list(Shopper.objects.values_list("external_id", flat=True)) == ["bob"]
    assert Event.objects.count() == 1 and not SearchLog.objects.exists()
    entry = AuditLog.objects.get(action="shopper.forget")
    assert entry.actor_name == "api-client:back-office" and entry.details["mode"] == "delete"
    # forgetting again: the shopper is unknown now
    _error(privacy_client.post(_url("shop/alice-42", "forget")), 404, "not_found")


def test_forget_can_anonymise_for_one_call(alice, privacy_client, settings):
    settings.SHOPPER_FORGET_MODE = "delete"
    response = privacy_client.post(
        _url("shop/alice-42", "forget"), {"mode": "anonymise"}, format="json"
    )
    assert response.status_code == 200 and response.json()["mode"] == "anonymise"
    assert (
        Event.objects.count() == 3 and not Event.objects.filter(review__contains="Alice").exists()
    )
    assert not Shopper.objects.filter(external_id="shop/alice-42").exists()


@pytest.mark.parametrize("body", ['{"mode": "shred"}', "null", '["delete"]'])
def test_forget_refuses_a_body_that_is_not_an_object_with_a_known_mode(alice, privacy_client, body):
    response = privacy_client.post(
        _url("shop/alice-42", "forget"), body, content_type="application/json"
    )
    error = _error(response, 400, "invalid")
    assert "mode" in error["message"] or not body.startswith("{")
    assert Shopper.objects.filter(external_id="shop/alice-42").exists()


@pytest.mark.parametrize("action, method", [("export", "get"), ("forget", "post")])
def test_unknown_shopper_is_404(db, privacy_client, action, method):
    error = _error(getattr(privacy_client, method)(_url("nobody", action)), 404, "not_found")
    assert "nobody" in error["message"]
    assert not AuditLog.objects.filter(action__startswith="shopper.").exists()


@pytest.mark.parametrize("action, method", [("export", "get"), ("forget", "post")])
def test_a_key_without_the_privacy_scope_is_refused(alice, action, method):
    storefront = _caller("read,events,write-catalog,simulate", name="storefront")
    error = _error(
        getattr(storefront, method)(_url("shop/alice-42", action)), 403, "permission_denied"
    )
    assert "privacy" in error["message"]
    _error(getattr(APIClient(), method)(_url("shop/alice-42", action)), 401, "not_authenticated")
    assert Shopper.objects.filter(external_id="shop/alice-42").exists()


def test_a_public_key_cannot_hold_the_privacy_scope(db):
    with pytest.raises(ValidationError, match="privacy"):
        api_client_create(name="browser", scopes="read,privacy", public=True)


def test_the_schema_documents_every_status(admin_client):
    paths = admin_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    export = paths["/api/v1/shoppers/{external_id}/export"]["get"]
    forget = paths["/api/v1/shoppers/{external_id}/forget"]["post"]
    assert {"200", "401", "403", "404", "429"} <= set(export["responses"])
    assert {"200", "400", "401", "403", "404", "429"} <= set(forget["responses"])
    assert "requestBody" in forget
