"""Bad input never gets a 500: a 4xx JSON error or a sane empty result, for every endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from platform_core.services import api_client_revoke

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("/api/v1/search", {"q": "headphones"}),
    ("/api/v1/recommendations", {}),
    ("/api/v1/products/hp-1/similar", {}),
    ("/api/v1/products/hp-1/bought-together", {}),
    ("/api/v1/trending", {}),
    ("/api/v1/autocomplete", {"q": "hea"}),
]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_every_endpoint_answers_a_valid_request(storefront, serving_store, path, params):
    assert storefront.get(path, params).status_code == 200


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
@pytest.mark.parametrize("size", ["-1", "0", "101", "ten"])
def test_size_out_of_range_is_a_400(storefront, serving_state, path, params, size):
    error = assert_error(storefront.get(path, {**params, "size": size}), 400, "invalid")
    assert "size" in error["details"]


def test_size_bounds_are_inclusive(storefront, serving_store):
    body = storefront.get(
        "/api/v1/search", {"q": "headphones laptop coffee running tv", "size": 100}
    ).json()
    assert 0 < len(body["results"]) <= 100
    assert (
        len(storefront.get("/api/v1/search", {"q": "headphones", "size": 1}).json()["results"]) == 1
    )


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/trending"])
def test_unknown_category_is_a_400(storefront, serving_store, path):
    error = assert_error(
        storefront.get(path, {"q": "headphones", "category": "no-such-category"}),
        400,
        "unknown_category",
    )
    assert "category" in error["details"]


@pytest.mark.parametrize(
    "path", ["/api/v1/products/nope/similar", "/api/v1/products/nope/bought-together"]
)
def test_unknown_product_is_a_404(storefront, serving_store, path):
    assert_error(storefront.get(path), 404, "not_found")


def test_unknown_context_product_is_a_404(storefront, serving_store):
    assert_error(
        storefront.get("/api/v1/recommendations", {"context_product": "nope"}), 404, "not_found"
    )


def test_a_query_of_ten_thousand_characters_is_served(storefront, serving_store):
    q = ("headphones " * 1000)[:10_000]
    response = storefront.get("/api/v1/search", {"q": q})
    assert response.status_code == 200
    body = response.json()
    assert len(body["query"]) <= 256
    assert "hp-1" in [r["product"]["id"] for r in body["results"]]
    assert storefront.get("/api/v1/autocomplete", {"q": q}).status_code == 200


@pytest.mark.parametrize(
    ("raw", "finds_headphones"),
    [
        ("q=%ED%A0%80headphones", True),  # a UTF-8-encoded lone surrogate
        ("q=%FF%FEheadphones", True),  # bytes that are not UTF-8 at all
        ("q=%C3%28", False),  # a truncated two-byte sequence
        ("q=head%E2%80%8Bphones%F0%9F%8E%A7", True),  # zero-width space inside, an emoji after
        ("q=%F0%9F%98%80%F0%9F%98%80", False),  # only emoji: nothing searchable
        ("q=%20%20%20", False),  # only spaces
        ("q=", False),  # empty
    ],
)
def test_malformed_unicode_gets_a_sane_result(storefront, serving_store, raw, finds_headphones):
    response = storefront.get(f"/api/v1/search?{raw}")
    assert response.status_code == 200, response.content
    body = response.json()
    found = [r["product"]["id"] for r in body["results"]]
    assert body["total"] >= len(found)
    assert ("hp-1" in found) is finds_headphones


def test_nul_characters_are_rejected(storefront, serving_state):
    assert_error(storefront.get("/api/v1/search", {"q": "head\x00phones"}), 400, "invalid")
    assert_error(storefront.get("/api/v1/recommendations", {"shopper": "a\x00b"}), 400, "invalid")


def test_shopper_id_with_odd_characters_is_a_cold_start(storefront, serving_store):
    response = storefront.get("/api/v1/recommendations", {"shopper": "ünknown 😀 '; DROP TABLE"})
    assert response.status_code == 200
    assert response.json()["results"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"price_min": "-1"}, "price_min"),
        ({"price_min": "abc"}, "price_min"),
        ({"price_max": "nan"}, "price_max"),
        ({"price_max": "inf"}, "price_max"),
        ({"price_min": "50", "price_max": "10"}, "price_max"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"in_stock": "maybe"}, "in_stock"),
    ],
)
def test_invalid_search_filters_are_400(storefront, serving_state, params, field):
    error = assert_error(
        storefront.get("/api/v1/search", {"q": "laptop", **params}), 400, "invalid"
    )
    assert field in error["details"]


def test_missing_q_is_a_400(storefront, serving_state):
    assert "q" in assert_error(storefront.get("/api/v1/search"), 400, "invalid")["details"]


def test_invalid_exclude_is_a_400(storefront, serving_state):
    assert (
        "exclude"
        in assert_error(
            storefront.get("/api/v1/recommendations", {"exclude": "everything"}), 400, "invalid"
        )["details"]
    )


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_missing_key_is_401(serving_state, path, params):
    assert_error(APIClient().get(path, params), 401)


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_revoked_and_unknown_keys_are_401(api_key, serving_state, path, params):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key ak_deadbeef_not-a-real-key")
    assert_error(client.get(path, params), 401)
    api_client_revoke(client=api_key[0])
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    error = assert_error(client.get(path, params), 401)
    assert "revoked" in error["message"]


def test_a_key_without_the_read_scope_is_403(serving_state):
    from platform_core.services import api_client_create

    _, key = api_client_create(name="events-only", scopes="events")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert "read" in assert_error(client.get("/api/v1/search", {"q": "tv"}), 403)["message"]


def test_lone_surrogates_from_any_source_are_made_encodable():
    from recommend.api.views import _clean_text

    cleaned = _clean_text("head\ud83dphones\x00")
    cleaned.encode("utf-8")  # would raise on a lone surrogate
    assert cleaned.startswith("head") and cleaned.endswith("phones")


@pytest.mark.parametrize(
    "raw",
    [
        "q=%5Cud800",  # the JSON escape typed as text
        "q=%ED%A0%80",  # the surrogate encoded as UTF-8 (not valid UTF-8)
        "q=%ED%A0%80%ED%B0%80",  # a surrogate pair encoded separately (CESU-8)
        "q=headphones%ED%BF%BF",  # a lone low surrogate after a word
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/autocomplete"])
def test_a_lone_surrogate_query_is_never_a_500(storefront, serving_store, path, raw):
    response = storefront.get(f"{path}?{raw}")
    assert response.status_code == 200, response.content
    response.content.decode("utf-8")  # the answer is valid UTF-8 JSON
    response.json()


def test_the_query_parameters_document_the_nul_rule(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/search", "/api/v1/autocomplete"):
        q = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "q")
        assert "NUL" in q["description"]


def test_one_shared_validator_keeps_nothing_between_requests():
    """Every request (and thread) validates with one instance per query serializer
    (``views._query_validator``): an invalid request's errors never reach the next one, and two
    threads validating at once each get their own answer."""
    from concurrent.futures import ThreadPoolExecutor

    from django.http import QueryDict
    from rest_framework.exceptions import ValidationError

    from recommend.api import serializers
    from recommend.api.views import _query_validator

    validator = _query_validator(serializers.SearchQuery)
    assert _query_validator(serializers.SearchQuery) is validator

    def check(n: int):
        if n % 2:
            query = QueryDict(f"q=shoes {n}&price_min=9&price_max=3&size={n % 7 + 1}")
            try:
                validator.run_validation(query)
            except ValidationError as exc:
                return ("invalid", sorted(exc.detail))
            return ("valid", None)
        data = validator.run_validation(QueryDict(f"q=shoes {n}&size={n % 7 + 1}"))
        return ("valid", (data["q"], data["size"], data["page"]))

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(check, range(400)))
    for n, answer in enumerate(answers):
        if n % 2:
            assert answer == ("invalid", ["price_max"]), (n, answer)
        else:
            assert answer == ("valid", (f"shoes {n}", n % 7 + 1, 1)), (n, answer)
