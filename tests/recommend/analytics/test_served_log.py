"""Every serving endpoint writes one served-request row through the Redis buffer: never in the
request, once however often it is flushed, a bad row dead-lettered alone, covered by the
shopper's export and forget."""

from __future__ import annotations

import pytest

from catalog.services import privacy as privacy_services
from platform_core import buffers
from recommend.analytics import services
from recommend.analytics.buffers import SERVED
from recommend.analytics.models import ServedRequest
from tests.factories.catalog import ShopperFactory

pytestmark = pytest.mark.django_db


def _clear() -> None:
    client = buffers.redis_client()
    keys = [SERVED.key, SERVED.dead_key, SERVED.dropped_key, SERVED.claims_key]
    keys += list(client.scan_iter(match=f"{SERVED.key}:processing:*"))
    client.delete(*keys)


@pytest.fixture
def empty_served():
    _clear()
    yield
    _clear()


def test_each_endpoint_queues_one_row_and_it_lands_once(serving_store, storefront, empty_served):
    ShopperFactory(external_id="fan")
    calls = {
        "search": ("/api/v1/search", {"q": "espresso", "shopper": "fan", "session": "s1"}),
        "recommendations": ("/api/v1/recommendations", {"shopper": "fan", "size": 4}),
        "similar": ("/api/v1/products/kt-1/similar", {"size": 3}),
        "bought_together": ("/api/v1/products/kt-1/bought-together", {"size": 3}),
        "trending": ("/api/v1/trending", {"size": 3}),
    }
    served = {}
    for endpoint, (url, params) in calls.items():
        response = storefront.get(url, params)
        assert response.status_code == 200, (url, response.content)
        served[endpoint] = response
    assert ServedRequest.objects.count() == 0  # nothing written in the request
    assert SERVED.pending() == len(calls)

    assert services.served_flush() == len(calls)
    assert services.served_flush() == 0
    rows = {r.endpoint: r for r in ServedRequest.objects.all()}
    assert set(rows) == set(calls)

    search = rows["search"]
    body = served["search"].json()
    assert search.request_id == body["request_id"] == served["search"]["X-Request-ID"]
    assert search.query == "espresso" and search.session == "s1"
    assert search.shopper.external_id == "fan" and search.surface == "search"
    shown_external = [r["product"]["id"] for r in body["results"]]
    assert [serving_store.products[e].pk for e in shown_external] == search.shown
    assert search.result_count == body["total"] and search.latency_ms > 0
    # the per-stage timings are the Server-Timing stages
    stages = {p.split(";")[0].strip() for p in served["search"]["Server-Timing"].split(",")}
    assert set(search.timings) <= stages and "total" in search.timings
    assert rows["trending"].surface == rows["bought_together"].surface == "recommendations"
    # every endpoint has a total latency, those served without stages too (trending, cache hits)
    assert all(r.latency_ms > 0 and "total" in r.timings for r in rows.values())


def test_a_row_flushed_twice_is_stored_once(serving_store, storefront, empty_served):
    assert storefront.get("/api/v1/search", {"q": "espresso"}).status_code == 200
    raw = buffers.redis_client().lindex(SERVED.key, 0)
    buffers.redis_client().rpush(SERVED.key, raw)  # queued twice (a re-queued claim)
    assert services.served_flush() == 2
    buffers.redis_client().rpush(SERVED.key, raw)
    assert services.served_flush() == 1
    assert ServedRequest.objects.count() == 1


def test_a_bad_row_is_dead_lettered_and_the_others_land(serving_store, storefront, empty_served):
    assert storefront.get("/api/v1/search", {"q": "espresso"}).status_code == 200
    SERVED.push({"request_id": "poison", "endpoint": "search", "timestamp": "yesterday"})
    assert storefront.get("/api/v1/trending", {"size": 2}).status_code == 200
    assert services.served_flush() == 3
    assert ServedRequest.objects.count() == 2
    (letter,) = SERVED.dead_letters()
    assert letter.request_id == "poison"


def test_export_and_forget_cover_served_requests(serving_store, storefront, empty_served):
    ShopperFactory(external_id="private")
    params = {"q": "espresso", "shopper": "private", "session": "sx"}
    assert storefront.get("/api/v1/search", params).status_code == 200
    services.served_flush()
    export = privacy_services.shopper_export(external_id="private")
    (row,) = export["served_requests"]
    assert row["query"] == "espresso" and row["shown"] and isinstance(row["shown"][0], str)

    counts = privacy_services.shopper_forget(external_id="private", mode="anonymise")
    assert counts["served_requests"] == 1
    kept = ServedRequest.objects.get()
    assert kept.session == "" and kept.shopper.external_id.startswith("anon-")
    privacy_services.shopper_forget(external_id=kept.shopper.external_id, mode="delete")
    assert ServedRequest.objects.count() == 0


def test_a_product_deleted_before_the_flush_keeps_its_position(serving_store, empty_served):
    SERVED.push(
        {
            "request_id": "gone-1",
            "endpoint": "similar",
            "shown": ["kt-1", "no-longer-here", "kt-2"],
            "timings": {"total": 3.0},
            "timestamp": "2026-12-01T10:00:00+00:00",
        }
    )
    assert services.served_flush() == 1
    row = ServedRequest.objects.get(request_id="gone-1")
    products = serving_store.products
    assert row.shown == [products["kt-1"].pk, 0, products["kt-2"].pk]
