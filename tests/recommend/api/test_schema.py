"""Every serving endpoint is in the OpenAPI schema with its parameters, and real responses
(successes and errors) validate against the schema's components."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

PARAMETERS = {
    "/api/v1/search": {
        "q",
        "category",
        "brand",
        "price_min",
        "price_max",
        "in_stock",
        "page",
        "size",
        "shopper",
        "session",
    },
    "/api/v1/recommendations": {"size", "context_product", "exclude", "shopper", "session"},
    "/api/v1/products/{product_id}/similar": {"product_id", "size", "shopper", "session"},
    "/api/v1/products/{product_id}/bought-together": {"product_id", "size", "shopper", "session"},
    "/api/v1/trending": {"category", "size", "shopper", "session"},
    "/api/v1/autocomplete": {"q", "size", "shopper", "session"},
}


def _strict(node):
    """OpenAPI 3.0 → JSON Schema: ``nullable`` becomes a null alternative, and objects with
    declared properties accept no others (a response field the schema forgot fails)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _strict(v) for k, v in node.items()}
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(storefront):
    response = storefront.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def validator_for(schema: dict, path: str, status: int):
    operation = schema["paths"][path]["get"]
    content = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    document = {"components": _strict(copy.deepcopy(schema["components"]))}
    registry = Registry().with_resource(
        "urn:aisle-api", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    target = {"$ref": "urn:aisle-api" + content["$ref"]} if "$ref" in content else _strict(content)
    return jsonschema.Draft202012Validator(target, registry=registry)


def test_every_endpoint_is_documented_with_its_parameters(schema):
    for path, expected in PARAMETERS.items():
        assert path in schema["paths"], path
        operation = schema["paths"][path]["get"]
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] in ("query", "path")}
        assert expected <= names, (path, expected - names)
        assert {"200", "400", "401", "403"} <= set(operation["responses"]), path
        assert {"ApiKey": []} in operation["security"], (path, operation.get("security"))
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    size = next(
        p for p in schema["paths"]["/api/v1/search"]["get"]["parameters"] if p["name"] == "size"
    )
    assert (
        size["schema"]["maximum"] == 100
        and size["schema"]["minimum"] == 1
        and size["schema"]["default"] == 10
    )


def test_real_responses_validate_against_the_schema(storefront, serving_store, schema):
    from recommend import services

    shopper = ShopperFactory(external_id="known")
    for kind in ("view", "view", "purchase", "view"):
        EventFactory(shopper=shopper, product=serving_store.products["kt-1"], type=kind)
    EventFactory(
        shopper=shopper,
        product=serving_store.products["kt-3"],
        type="purchase",
        session=EventFactory(
            shopper=shopper, product=serving_store.products["kt-1"], type="purchase", session="s-1"
        ).session,
    )
    services.aggregates_refresh()
    calls = [
        ("/api/v1/search", "/api/v1/search", {"q": "coffee machine", "shopper": "known"}),
        ("/api/v1/search", "/api/v1/search", {"q": "🙂"}),
        (
            "/api/v1/search",
            "/api/v1/search",
            {"q": "headphones", "category": "electronics", "in_stock": "true"},
        ),
        ("/api/v1/recommendations", "/api/v1/recommendations", {"shopper": "known"}),
        ("/api/v1/recommendations", "/api/v1/recommendations", {}),
        ("/api/v1/products/{product_id}/similar", "/api/v1/products/kt-1/similar", {}),
        (
            "/api/v1/products/{product_id}/bought-together",
            "/api/v1/products/kt-1/bought-together",
            {},
        ),
        ("/api/v1/trending", "/api/v1/trending", {"category": "home"}),
        ("/api/v1/autocomplete", "/api/v1/autocomplete", {"q": "co"}),
    ]
    for documented, url, params in calls:
        response = storefront.get(url, params)
        assert response.status_code == 200, (url, response.content)
        body = response.json()
        errors = sorted(validator_for(schema, documented, 200).iter_errors(body), key=str)
        assert not errors, (url, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])
    non_empty = storefront.get("/api/v1/search", {"q": "coffee machine"}).json()
    assert non_empty["results"] and non_empty["facets"]["price"]


def test_error_responses_validate_against_the_schema(storefront, serving_store, schema):
    from rest_framework.test import APIClient

    cases = [
        ("/api/v1/search", storefront, "/api/v1/search", {"q": "x", "size": 1000}, 400),
        ("/api/v1/search", APIClient(), "/api/v1/search", {"q": "x"}, 401),
        (
            "/api/v1/products/{product_id}/similar",
            storefront,
            "/api/v1/products/nope/similar",
            {},
            404,
        ),
    ]
    for documented, client, url, params, status in cases:
        response = client.get(url, params)
        assert response.status_code == status
        errors = list(validator_for(schema, documented, status).iter_errors(response.json()))
        assert not errors, [e.message for e in errors]
