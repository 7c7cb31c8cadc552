"""Hostile input to the catalog endpoints and to the file imports that share their rules.

Never a 500: a body that is too big is a JSON 413, a body that is not JSON a JSON 400, and a
bad item in a batch is rejected by itself (with its index or line, field and reason) while
the valid items of the same batch are stored.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from catalog.formats.events import _EVENT_SPEC
from catalog.formats.records import _PRODUCT_SPEC
from catalog.formats.values import Invalid, as_price
from catalog.models import Event, ImportRun, Product
from catalog.services.imports import catalog_import_file
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

EVENTS_URL = "/api/v1/events"
BULK_URL = "/api/v1/products/bulk"
RAW = "__raw_json__"  # a value replaced by raw JSON text (numbers json.dumps cannot write)


def _event(n: int, **over) -> dict:
    return {
        "event_id": f"e-{n}",
        "shopper": "s-1",
        "type": "view",
        "product": "p-1",
        "timestamp": f"2024-06-01T10:{n % 60:02d}:00Z",
        **over,
    }


def _product(ext: str, **over) -> dict:
    return {"external_id": ext, "title": f"Product {ext}", "price": "10.00", **over}


def _body(obj, raw: str | None = None) -> bytes:
    """JSON text of ``obj``; lone surrogates stay ``\\udXXX`` escapes (as a client sends them)."""
    text = json.dumps(obj)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw)
    return text.encode("ascii")


def post_raw(client, url: str, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code, error
    return error


@pytest.fixture
def product(db):
    return ProductFactory(external_id="p-1")


@pytest.fixture
def events_client(db):
    """A storefront's public key: the events scope only."""
    from platform_core.services import api_client_create

    _, key = api_client_create(name="public-store-key", scopes="events")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# --- Bodies that are too big or not JSON ------------------------------------------------------


@pytest.mark.parametrize("url", [EVENTS_URL, BULK_URL])
def test_a_body_over_20_mb_is_a_json_413(storefront, settings, url):
    assert settings.API_MAX_BODY_BYTES == 20 * 1024 * 1024
    body = b'{"events": [], "padding": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    error = assert_error(post_raw(storefront, url, body), 413, "body_too_large")
    assert error["details"] == {"max_bytes": settings.API_MAX_BODY_BYTES, "sent_bytes": len(body)}


def test_the_body_limit_is_a_setting(storefront, settings, product):
    settings.API_MAX_BODY_BYTES = 2000
    small = _body({"events": [_event(1)]})
    assert post_raw(storefront, EVENTS_URL, small).status_code == 202
    big = _body({"events": [_event(n) for n in range(40)]})
    assert len(big) > 2000
    assert_error(post_raw(storefront, EVENTS_URL, big), 413, "body_too_large")
    assert Event.objects.count() == 1


def test_the_api_limit_not_djangos_governs_json_bodies(storefront, settings, product):
    """DRF's own JSON parser read ``request.body``, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    raised RequestDataTooBig — a 500. The API's parser reads the stream up to its own limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = _body({"events": [_event(n) for n in range(40)]})
    assert len(body) > 1000
    response = post_raw(storefront, EVENTS_URL, body)
    assert response.status_code == 202, response.content[:500]
    assert response.json()["accepted"] == 40


def test_djangos_own_body_limit_is_a_json_413_on_any_api_view(settings):
    """A view that parses forms (or reads ``request.body``) meets Django's limit instead:
    RequestDataTooBig becomes the same JSON 413, not a 500."""
    from rest_framework.parsers import FormParser
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class FormView(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]
        parser_classes = [FormParser]

        def post(self, request):
            return Response(dict(request.data))

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = "a=1&padding=" + "x" * 5000
    request = APIRequestFactory().post(
        "/api/v1/form", body, content_type="application/x-www-form-urlencoded"
    )
    response = FormView.as_view()(request)
    response.render()
    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "body_too_large"
    assert json.loads(response.content)["error"]["details"]["sent_bytes"] == len(body)


@pytest.mark.parametrize("url", [EVENTS_URL, BULK_URL])
@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"events": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
    ],
    ids=["lists", "objects"],
)
def test_json_nested_100000_deep_is_a_400(storefront, url, body):
    assert_error(post_raw(storefront, url, body), 400, "parse_error")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_a_400(storefront, product, constant):
    body = _body({"events": [_event(1, value=RAW)]}, raw=constant)
    assert_error(post_raw(storefront, EVENTS_URL, body), 400, "parse_error")
    assert not Event.objects.exists()


def test_a_body_that_is_not_utf8_is_a_400(storefront):
    assert_error(post_raw(storefront, EVENTS_URL, b'{"events": ["\xff\xfe"]}'), 400, "parse_error")


# --- Events: every bad value is rejected by itself ---------------------------------------------

LONG = "x" * 10_000
DEEP: dict = {}
for _ in range(50):
    DEEP = {"k": DEEP}

HOSTILE_EVENTS = [
    # (overrides, raw JSON for RAW, the field reported)
    ({"timestamp": "0001-01-01T00:00:00+14:00"}, None, "timestamp"),
    ({"timestamp": "9999-12-31T23:59:59-14:00"}, None, "timestamp"),
    ({"timestamp": "0001-01-01T00:00:00Z"}, None, "timestamp"),
    ({"timestamp": "1969-12-31T23:59:59Z"}, None, "timestamp"),
    ({"timestamp": "2101-01-01T00:00:00Z"}, None, "timestamp"),
    ({"timestamp": "2024-06-01T10:00:00+25:00"}, None, "timestamp"),
    ({"timestamp": "2024-06-01T10:00:00\u0000"}, None, "timestamp"),
    ({"timestamp": "2024-06-01T10:00:00\ud800"}, None, "timestamp"),
    ({"timestamp": 1717236000}, None, "timestamp"),
    ({"timestamp": ["2024-06-01T10:00:00Z"]}, None, "timestamp"),
    ({"timestamp": None}, None, "timestamp"),
    ({"query": "\ud800"}, None, "query"),
    ({"query": "a\u0000b"}, None, "query"),
    ({"query": LONG}, None, "query"),
    ({"review": "\udfff"}, None, "review"),
    ({"review": "nul\u0000"}, None, "review"),
    ({"review": {"text": "great"}}, None, "review"),
    ({"session": "\ud800"}, None, "session"),
    ({"session": LONG}, None, "session"),
    ({"session": ["s"]}, None, "session"),
    ({"request_id": "\ud800"}, None, "request_id"),
    ({"request_id": "r\u0000"}, None, "request_id"),
    ({"request_id": LONG}, None, "request_id"),
    ({"shopper": "\ud800"}, None, "shopper"),
    ({"shopper": "s\u0000"}, None, "shopper"),
    ({"shopper": ["s-1"]}, None, "shopper"),
    ({"shopper": {"id": 1}}, None, "shopper"),
    ({"shopper": LONG}, None, "shopper"),
    ({"shopper": 1.5}, None, "shopper"),
    ({"product": "\ud800"}, None, "product"),
    ({"product": "p\u0000"}, None, "product"),
    ({"product": ["p-1"]}, None, "product"),
    ({"product": "ghost"}, None, "product"),
    ({"product": LONG}, None, "product"),
    ({"event_id": "\ud800"}, None, "event_id"),
    ({"event_id": "e\u0000"}, None, "event_id"),
    ({"event_id": LONG}, None, "event_id"),
    ({"event_id": {"a": 1}}, None, "event_id"),
    ({"type": "\ud800"}, None, "type"),
    ({"type": "teleport"}, None, "type"),
    ({"type": ["view"]}, None, "type"),
    ({"position": -1}, None, "position"),
    ({"position": 10**30}, None, "position"),
    ({"position": 1.5}, None, "position"),
    ({"position": "1e400"}, None, "position"),
    ({"position": [1]}, None, "position"),
    ({"value": RAW}, "1" + "0" * 400, "value"),  # an int too big for a float
    ({"value": RAW}, "1e400", "value"),  # parsed as infinity
    ({"value": RAW}, "-1e400", "value"),
    ({"value": "NaN"}, None, "value"),
    ({"value": "Infinity"}, None, "value"),
    ({"value": "-inf"}, None, "value"),
    ({"value": True}, None, "value"),
    ({"value": [1]}, None, "value"),
    ({"type": "purchase", "value": -5}, None, "value"),
    ({"type": "rating", "value": 6}, None, "value"),
]


@pytest.mark.parametrize(("overrides", "raw", "field"), HOSTILE_EVENTS)
def test_a_bad_event_is_rejected_by_itself_and_the_valid_ones_are_stored(
    events_client, product, overrides, raw, field
):
    batch = {"events": [_event(1), _event(2, **overrides), _event(3)]}
    response = post_raw(events_client, EVENTS_URL, _body(batch, raw))
    assert response.status_code == 202, response.content[:500]
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1), body
    assert {e["index"] for e in body["errors"]} == {1}
    assert field in {e["field"] for e in body["errors"]}, body["errors"]
    assert all(e["reason"] for e in body["errors"])
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e-1", "e-3"}


def test_public_key_valid_event_is_kept_next_to_an_overflowing_timestamp(events_client, product):
    """The reported case: an events-only key, one valid event, one timestamp out of range."""
    batch = {"events": [_event(1), _event(2, timestamp="0001-01-01T00:00:00+14:00")]}
    response = post_raw(events_client, EVENTS_URL, _body(batch))
    assert response.status_code == 202
    assert response.json()["errors"][0]["index"] == 1
    assert list(Event.objects.values_list("event_id", flat=True)) == ["e-1"]


def test_edge_timestamps_inside_the_range_are_stored_in_utc(events_client, product):
    batch = {
        "events": [
            _event(1, timestamp="1970-01-01T00:00:00Z"),
            _event(2, timestamp="2100-12-31T23:59:59+14:00"),
            _event(3, timestamp="2024-06-01T10:00:00+23:59"),
        ]
    }
    body = post_raw(events_client, EVENTS_URL, _body(batch)).json()
    assert (body["accepted"], body["rejected"]) == (3, 0), body


def test_unknown_and_hostile_keys_of_an_event_are_ignored(events_client, product):
    event = {**_event(1), "x\u0000": "\ud800", "\udfff": 1}
    body = post_raw(events_client, EVENTS_URL, _body({"events": [event]})).json()
    assert body["accepted"] == 1, body


def test_a_value_the_database_refuses_is_rejected_by_itself(events_client, product, monkeypatch):
    """Defence in depth: were a validator to let through a value PostgreSQL refuses (here NUL
    in a review, with the check switched off), only that event is rejected."""
    monkeypatch.setitem(_EVENT_SPEC, "review", lambda v: v)
    batch = {"events": [_event(1), _event(2, review="a\u0000b"), _event(3)]}
    response = post_raw(events_client, EVENTS_URL, _body(batch))
    assert response.status_code == 202, response.content[:500]
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1), body
    assert body["errors"][0]["index"] == 1
    assert "could not be stored" in body["errors"][0]["reason"]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e-1", "e-3"}


# --- Products ---------------------------------------------------------------------------------

HOSTILE_PRODUCTS = [
    ({"price": "1e30"}, None, "price"),
    ({"price": 1e30}, None, "price"),
    ({"price": "1e999999999"}, None, "price"),
    ({"price": "-1e-999999999"}, None, "price"),
    ({"price": RAW}, "1" + "0" * 400, "price"),
    ({"price": "NaN"}, None, "price"),
    ({"price": "sNaN"}, None, "price"),
    ({"price": "Infinity"}, None, "price"),
    ({"price": "-1"}, None, "price"),
    ({"price": [1]}, None, "price"),
    ({"price": {"amount": 1}}, None, "price"),
    ({"price": "\ud800"}, None, "price"),
    ({"title": "\ud800"}, None, "title"),
    ({"title": "a\u0000b"}, None, "title"),
    ({"title": LONG}, None, "title"),
    ({"title": ["t"]}, None, "title"),
    ({"description": "\ud800"}, None, "description"),
    ({"description": "a\u0000"}, None, "description"),
    ({"description": "word " * 20_001}, None, "description"),
    ({"attributes": {"k": "x" * 100_000}}, None, "attributes"),
    ({"attributes": {"k": "a\u0000b"}}, None, "attributes"),
    ({"attributes": {"k\u0000": "v"}}, None, "attributes"),
    ({"attributes": {"k": "\ud800"}}, None, "attributes"),
    ({"attributes": {"\udfff": "v"}}, None, "attributes"),
    ({"attributes": {"k": {"deep": ["x", "y\u0000"]}}}, None, "attributes"),
    ({"attributes": DEEP}, None, "attributes"),
    ({"attributes": {"k": RAW}}, "1e400", "attributes"),
    ({"attributes": '{"k": NaN}'}, None, "attributes"),
    ({"attributes": "not json"}, None, "attributes"),
    ({"attributes": [1, 2]}, None, "attributes"),
    ({"brand": "\ud800"}, None, "brand"),
    ({"brand": "b\u0000"}, None, "brand"),
    ({"category": "\ud800"}, None, "category"),
    ({"currency": "\ud800"}, None, "currency"),
    ({"image_url": "https://example.com/\ud800.jpg"}, None, "image_url"),
    ({"image_url": "javascript:alert(1)"}, None, "image_url"),
    ({"stock": -1}, None, "stock"),
    ({"stock": 10**30}, None, "stock"),
    ({"stock": 1.5}, None, "stock"),
    ({"stock": "1e400"}, None, "stock"),
    ({"active": "maybe"}, None, "active"),
    ({"active": [True]}, None, "active"),
    ({"external_id": "\ud800"}, None, "external_id"),
    ({"external_id": "b\u0000"}, None, "external_id"),
    ({"external_id": LONG}, None, "external_id"),
]


@pytest.mark.parametrize(("overrides", "raw", "field"), HOSTILE_PRODUCTS)
def test_a_bad_product_is_rejected_by_itself(storefront, overrides, raw, field):
    items = [_product("a"), _product("b", **overrides), _product("c")]
    body = _body(items, raw)
    strict = post_raw(storefront, BULK_URL, body)
    error = assert_error(strict, 400, "invalid_rows")
    assert [(e["index"], e["field"]) for e in error["details"]["errors"]] == [(1, field)]
    assert error["details"]["errors"][0]["reason"]
    assert not Product.objects.exists()
    response = post_raw(storefront, f"{BULK_URL}?skip_invalid=true&full_sync=true", body)
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    assert (report["status"], report["created"], report["rejected"]) == ("partial", 2, 1)
    assert set(Product.objects.values_list("external_id", flat=True)) == {"a", "c"}


def test_a_product_value_the_database_refuses_is_rejected_by_itself(storefront, monkeypatch):
    monkeypatch.setitem(_PRODUCT_SPEC, "description", lambda v: v)
    items = [_product("a"), _product("b", description="a\u0000b"), _product("c")]
    strict = post_raw(storefront, BULK_URL, _body(items))
    error = assert_error(strict, 400, "invalid_rows")
    assert [(e["index"], e["field"]) for e in error["details"]["errors"]] == [(1, "")]
    assert "could not be stored" in error["details"]["errors"][0]["reason"]
    assert not Product.objects.exists()
    response = post_raw(storefront, f"{BULK_URL}?skip_invalid=true", _body(items))
    assert response.status_code == 200, response.content[:500]
    assert set(Product.objects.values_list("external_id", flat=True)) == {"a", "c"}


def test_a_description_too_big_for_the_full_text_index_is_rejected_by_itself(
    storefront, monkeypatch
):
    """PostgreSQL's tsvector holds 1 MB: past the description limit (switched off here), the
    database refuses the row — that product alone, with the database's reason."""
    monkeypatch.setattr("catalog.formats.records.MAX_DESCRIPTION", 10_000_000)
    words = " ".join(f"w{i}x" for i in range(250_000))
    items = [_product("a"), _product("b", description=words), _product("c")]
    response = post_raw(storefront, f"{BULK_URL}?skip_invalid=true", _body(items))
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    assert [(e["index"], e["field"]) for e in report["errors"]] == [(1, "")]
    assert "tsvector" in report["errors"][0]["reason"]
    assert set(Product.objects.values_list("external_id", flat=True)) == {"a", "c"}


# --- Files: the same rules, per line --------------------------------------------------------


def test_event_files_get_the_same_per_line_rejections(product):
    lines = [
        _event(1),
        _event(2, timestamp="0001-01-01T00:00:00+14:00"),
        _event(3, query="\ud800"),
        _event(4, value=RAW),
        _event(5, review="a\u0000b"),
        _event(6),
    ]
    text = "\n".join(_body(e, "1" + "0" * 400).decode() for e in lines)
    report = catalog_import_file(
        kind="events", source=text.encode(), fmt="jsonl", skip_invalid=True
    )
    assert report.status == ImportRun.Status.PARTIAL, report.summary()
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "timestamp"),
        (3, "query"),
        (4, "value"),
        (5, "review"),
    ]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e-1", "e-6"}


def test_product_files_get_the_same_per_line_rejections(write, run_command):
    rows = [
        _product("a"),
        _product("b", price="1e30"),
        _product("c", title="\ud800"),
        _product("d", attributes={"k": "a\u0000b"}),
        _product("e", attributes={"k": RAW}),
        {**_product("f"), "unknown\u0000column": "x"},
        _product("g", attributes='{"k": NaN}'),
    ]
    path = write("products.jsonl", "\n".join(_body(r, "1e400").decode() for r in rows))
    result = run_command("import_catalog", str(path), "--skip-invalid")
    assert result.code == 0, result.out
    run = ImportRun.objects.get()
    assert [(e["line"], e["field"]) for e in run.errors] == [
        (2, "price"),
        (3, "title"),
        (4, "attributes"),
        (5, "attributes"),
        (7, "attributes"),
    ]
    assert any("unknown" in w for w in run.warnings)
    assert set(Product.objects.values_list("external_id", flat=True)) == {"a", "f"}


def test_csv_cells_get_the_same_rules(write, run_command):
    path = write(
        "products.csv",
        "external_id,title,price,attributes\n"
        "a,Bag,10.00,\n"
        "b,Shoe,1e30,\n"
        'c,Hat,5,"{""k"": ""a\\u0000b""}"\n'
        'd,Cap,5,"{""k"": 1e400}"\n'
        "e,Nul\x00title,5,\n",
    )
    result = run_command("import_catalog", str(path), "--skip-invalid")
    assert result.code == 0, result.out
    run = ImportRun.objects.get()
    assert [(e["line"], e["field"]) for e in run.errors] == [
        (3, "price"),
        (4, "attributes"),
        (5, "attributes"),
        (6, "title"),
    ]
    assert list(Product.objects.values_list("external_id", flat=True)) == ["a"]


def test_category_and_shopper_files_get_the_same_rules():
    categories = "\n".join(
        _body(r).decode()
        for r in [
            {"external_id": "bags", "name": "Bags"},
            {"external_id": "b\u0000", "name": "Nul"},
            {"external_id": "hats", "name": "\ud800"},
        ]
    )
    report = catalog_import_file(
        kind="categories", source=categories.encode(), fmt="jsonl", skip_invalid=True
    )
    assert [(e.line, e.field) for e in report.errors] == [(2, "external_id"), (3, "name")]
    shoppers = "\n".join(
        _body(r, "1e400").decode()
        for r in [
            {"external_id": "s-1", "attributes": {"tier": "gold"}},
            {"external_id": "s-2", "attributes": {"tier": "a\u0000"}},
            {"external_id": "s-3", "attributes": {"score": RAW}},
            {"external_id": "s-4", "segment": "\udfff"},
            {"external_id": "s-5", "signup_date": "2024-01-01\u0000"},
        ]
    )
    report = catalog_import_file(
        kind="shoppers", source=shoppers.encode(), fmt="jsonl", skip_invalid=True
    )
    assert report.status == ImportRun.Status.PARTIAL, report.summary()
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "attributes"),
        (3, "attributes"),
        (4, "segment"),
        (5, "signup_date"),
    ]


def test_a_file_name_with_nul_or_a_surrogate_is_recorded_escaped(product):
    report = catalog_import_file(
        kind="events",
        source=json.dumps(_event(1)).encode(),
        fmt="jsonl",
        filename="up\x00load\ud800.jsonl",
    )
    assert report.created == 1
    assert ImportRun.objects.get().filename == "up\\x00load\\ud800.jsonl"


def test_a_jsonl_line_with_a_number_python_refuses_is_that_lines_error(product):
    lines = [json.dumps(_event(1)), '{"event_id": "e-2", "value": 1' + "0" * 5000 + "}"]
    report = catalog_import_file(
        kind="events", source="\n".join(lines).encode(), fmt="jsonl", skip_invalid=True
    )
    assert [(e.line, e.field) for e in report.errors] == [(2, "")]
    assert report.created == 1


# --- Values: plain-Python checks of the shared validators -------------------------------------


@pytest.mark.parametrize(
    "value",
    ["1e30", "1E+30", 1e30, "1e999999999", "-1e-999999999", "9999999999.999", 10**40, "sNaN"],
)
def test_prices_that_do_not_fit_are_invalid(value):
    with pytest.raises(Invalid):
        as_price(value)


def test_the_largest_price_fits():
    assert str(as_price("9999999999.99")) == "9999999999.99"
    assert str(as_price("1e3")) == "1000.00"
