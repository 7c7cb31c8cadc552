"""Per-key throttling: a key over its rate gets 429, the JSON error body and Retry-After."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from platform_core.services import api_client_create

pytestmark = pytest.mark.django_db

WHOAMI = "/api/v1/whoami"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()  # the tests' own Redis database: no history from another test's key
    yield
    cache.clear()


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def _caller(name: str, scopes: str = "read,events") -> APIClient:
    _, key = api_client_create(name=name, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _assert_throttled(response, *, at_most: int) -> int:
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "throttled"
    assert "throttled" in body["error"]["message"].lower()
    wait = body["error"]["details"]["retry_after_seconds"]
    assert isinstance(wait, int) and 1 <= wait <= at_most
    assert response["Retry-After"] == str(wait)
    assert response["Content-Type"].startswith("application/json")
    return wait


def test_a_key_over_its_rate_gets_429_with_json_and_retry_after(settings):
    _rates(settings, client="3/min")
    shop = _caller("shop")
    assert [shop.get(WHOAMI).status_code for _ in range(3)] == [200, 200, 200]
    _assert_throttled(shop.get(WHOAMI), at_most=60)
    # another key has its own budget
    assert _caller("other-shop").get(WHOAMI).status_code == 200


def test_a_view_with_its_own_scope_uses_that_rate(settings):
    _rates(settings, client="100/min", events="1/hour")
    shop = _caller("shop")
    first = shop.post("/api/v1/events", {"events": []}, format="json")
    assert first.status_code == 400  # counted, though invalid
    _assert_throttled(shop.post("/api/v1/events", {"events": []}, format="json"), at_most=3600)
    assert shop.get(WHOAMI).status_code == 200  # the client rate is separate


def test_lowering_the_rate_still_tells_the_caller_when_to_retry(settings):
    """DRF's own estimate gives no wait (and so no Retry-After) when a key's history holds
    more requests than the new, lower rate allows."""
    _rates(settings, client="5/min")
    shop = _caller("shop")
    assert all(shop.get(WHOAMI).status_code == 200 for _ in range(5))
    _rates(settings, client="2/min")
    _assert_throttled(shop.get(WHOAMI), at_most=60)
