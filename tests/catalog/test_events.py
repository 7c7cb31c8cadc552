"""Event ingestion from files and through POST /api/v1/events."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from catalog.models import Event, Shopper
from catalog.services.events import events_ingest_objects
from catalog.services.imports import catalog_import_file
from tests.factories import ProductFactory, ShopperFactory

EVENTS_URL = "/api/v1/events"


def _event(n: int, **over) -> dict:
    return {
        "event_id": f"e-{n}",
        "shopper": "s-1",
        "type": "view",
        "product": "p-1",
        "timestamp": f"2024-06-01T10:{n % 60:02d}:00Z",
        **over,
    }


@pytest.fixture
def product(db):
    return ProductFactory(external_id="p-1")


@pytest.mark.django_db
def test_file_events_without_ids_are_idempotent_and_naive_times_are_utc(
    product, write, run_command
):
    path = write(
        "events.csv",
        "shopper,type,product,timestamp,query\n"
        "s-1,view,p-1,2024-06-01T10:00:00,\n"
        "s-1,search,,2024-06-01 10:01:00,red shoes\n",
    )
    first = run_command("import_events", str(path))
    assert first.code == 0 and "2 accepted" in first.out and "1 new shoppers" in first.out
    again = run_command("import_events", str(path))
    assert "0 accepted, 2 duplicates" in again.out
    assert Event.objects.count() == 2
    view = Event.objects.get(type="view")
    assert view.timestamp == datetime(2024, 6, 1, 10, tzinfo=UTC) and view.event_id.startswith("h:")
    assert Event.objects.get(type="search").product is None


@pytest.mark.django_db
def test_file_with_unknown_product_imports_nothing_unless_skip_invalid(product, write, run_command):
    path = write(
        "events.jsonl",
        '{"shopper": "s-1", "type": "view", "product": "p-1", "timestamp": "2024-06-01T10:00:00Z"}\n'
        '{"shopper": "s-1", "type": "click", "product": "nope", "timestamp": "2024-06-01T10:00:01Z"}\n',
    )
    result = run_command("import_events", str(path))
    assert result.code == 1 and "line 2, field product: unknown product 'nope'" in result.out
    assert not Event.objects.exists() and not Shopper.objects.exists()
    assert run_command("import_events", str(path), "--skip-invalid").code == 0
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_new_events_bump_profile_version_and_last_seen(product):
    shopper = ShopperFactory(external_id="s-1")
    report = events_ingest_objects(objects=[_event(1), _event(5), _event(3)])
    assert report.created == 3
    shopper.refresh_from_db()
    assert shopper.profile_version == 1
    assert shopper.last_seen_at == datetime(2024, 6, 1, 10, 5, tzinfo=UTC)
    events_ingest_objects(objects=[_event(1)])  # a duplicate changes no profile
    shopper.refresh_from_db()
    assert shopper.profile_version == 1
    events_ingest_objects(objects=[_event(2)])  # an older event: version moves, last_seen does not
    shopper.refresh_from_db()
    assert shopper.profile_version == 2 and shopper.last_seen_at == datetime(
        2024, 6, 1, 10, 5, tzinfo=UTC
    )


@pytest.mark.django_db
def test_api_batch_sent_twice_is_stored_once(storefront, product):
    batch = {
        "events": [_event(n) for n in range(10)] + [_event(3)]
    }  # a duplicate inside the batch too
    first = storefront.post(EVENTS_URL, batch, format="json")
    assert first.status_code == 202
    assert first.json() == {"accepted": 10, "duplicates": 1, "rejected": 0, "errors": []}
    second = storefront.post(EVENTS_URL, batch, format="json")
    assert second.json() == {"accepted": 0, "duplicates": 11, "rejected": 0, "errors": []}
    assert Event.objects.count() == 10


@pytest.mark.django_db
def test_api_rejects_bad_events_by_index_and_stores_the_rest(storefront, product):
    batch = {
        "events": [
            _event(1),
            _event(2, product="ghost"),
            {k: v for k, v in _event(3).items() if k != "event_id"},
            _event(4, shopper="new-shopper"),
            _event(5, timestamp="not a time"),
            "not an object",
        ]
    }
    body = storefront.post(EVENTS_URL, batch, format="json").json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 4)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "product"),
        (2, "event_id"),
        (4, "timestamp"),
        (5, ""),
    ]
    assert body["errors"][0]["reason"] == "unknown product 'ghost'"
    assert Shopper.objects.filter(external_id="new-shopper").exists()
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e-1", "e-4"}


@pytest.mark.django_db
def test_api_envelope_errors_are_json(storefront, product):
    response = storefront.post(EVENTS_URL, [_event(1)], format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_batch"
    response = storefront.post(
        EVENTS_URL, {"events": [_event(n) for n in range(1001)]}, format="json"
    )
    assert response.status_code == 413 and response.json()["error"]["details"] == {
        "max": 1000,
        "sent": 1001,
    }


@pytest.mark.django_db
def test_api_auth_and_scope_errors_are_json(db, client):
    from rest_framework.test import APIClient

    from platform_core.services import api_client_create

    anonymous = APIClient().post(EVENTS_URL, {"events": []}, format="json")
    assert anonymous.status_code in (401, 403) and "error" in anonymous.json()
    _, key = api_client_create(name="reader", scopes="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = reader.post(EVENTS_URL, {"events": [_event(1)]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key lacks the 'events' scope."
    response = reader.post("/api/v1/products/bulk", [], format="json")
    assert response.status_code == 403 and "write-catalog" in response.json()["error"]["message"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Api-Key ak_nope_nope")
    response = bad.post(EVENTS_URL, {"events": [_event(1)]}, format="json")
    assert response.status_code == 401 and response.json()["error"]["message"] == "Unknown API key."


@pytest.mark.slow  # transaction=True: flushing every table afterwards takes 3 to 8 s here
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_the_same_batch_store_each_event_once(api_key):
    """Two threads, each with its own database connection, post the same batch at once."""
    from rest_framework.test import APIClient

    ProductFactory(external_id="p-1")
    batch = {"events": [_event(n, shopper=f"s-{n % 7}") for n in range(300)]}
    barrier = threading.Barrier(2)
    results, failures = [], []

    def post():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
            barrier.wait()
            response = client.post(EVENTS_URL, batch, format="json")
            results.append(response.json())
        except Exception as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert len(results) == 2
    assert sum(r["accepted"] for r in results) == 300
    assert sum(r["duplicates"] for r in results) == 300
    assert Event.objects.count() == 300
    assert Shopper.objects.count() == 7
    # each shopper's profile moved once per request that stored some of their events
    assert set(Shopper.objects.values_list("profile_version", flat=True)) <= {1, 2}


@pytest.mark.django_db
def test_products_bulk_api_uses_the_same_service(storefront, categories):
    items = [
        {"external_id": "b1", "title": "Bag", "price": "10.00", "category": "bags"},
        {
            "external_id": "b2",
            "title": "Shoe",
            "price": 59.5,
            "category": "running",
            "brand": "Stride",
        },
    ]
    response = storefront.post("/api/v1/products/bulk", items, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["created"], response.json()["status"]) == (2, "succeeded")
    again = storefront.post("/api/v1/products/bulk", items, format="json").json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    bad = items + [
        {"external_id": "b3", "title": "Hat", "price": "x"},
        {"external_id": "b4", "price": 1},
    ]
    response = storefront.post("/api/v1/products/bulk", bad, format="json")
    body = response.json()
    assert response.status_code == 400 and body["error"]["code"] == "invalid_rows"
    assert [(e["index"], e["field"]) for e in body["error"]["details"]["errors"]] == [
        (2, "price"),
        (3, "title"),
    ]
    partial = storefront.post("/api/v1/products/bulk?skip_invalid=true", bad, format="json").json()
    assert (partial["status"], partial["unchanged"], partial["rejected"]) == ("partial", 2, 2)


@pytest.mark.django_db
def test_openapi_schema_documents_both_endpoints(admin_client):
    response = admin_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    events = paths["/api/v1/events"]["post"]
    assert "202" in events["responses"] and "requestBody" in events
    assert "/api/v1/products/bulk" in paths


@pytest.mark.django_db
def test_multi_chunk_file_touches_each_shopper_once_at_the_end(product, monkeypatch, write):
    monkeypatch.setattr("catalog.services.events.EVENT_CHUNK", 2)
    lines = [f"e-{n},s-{n % 2},view,p-1,2024-06-01T10:0{n}:00Z" for n in range(5)]
    path = write(
        "events.csv", "event_id,shopper,type,product,timestamp\n" + "\n".join(lines) + "\n"
    )
    report = catalog_import_file(kind="events", source=path)
    assert (report.created, report.unchanged, report.shoppers_created) == (5, 0, 2)
    versions = dict(Shopper.objects.values_list("external_id", "profile_version"))
    assert versions == {"s-0": 1, "s-1": 1}
    assert Shopper.objects.get(external_id="s-0").last_seen_at == datetime(
        2024, 6, 1, 10, 4, tzinfo=UTC
    )
    again = catalog_import_file(kind="events", source=path)
    assert (again.created, again.unchanged) == (0, 5)
    assert dict(Shopper.objects.values_list("external_id", "profile_version")) == versions
