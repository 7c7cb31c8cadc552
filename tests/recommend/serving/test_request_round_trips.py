"""What a served request costs outside the pipeline (issue 19 §2): the API key is read from the
database once per process, not per request; the key's usage count, the throttle and the
generations are one Redis round trip (one script, when the process holds the key's row); the
cached result and the query vector one more; the cached result, the query vector and the two log
rows (search log, served request) travel in one pipeline. Pinned by counting SQL queries and
the commands sent to the real Redis, never by time."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.http.response import HttpResponseBase
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import SearchLog
from platform_core import buffers
from platform_core.services import api_client_create, api_client_revoke, api_client_rotate
from recommend import services
from recommend.analytics.models import ServedRequest
from recommend.analytics.services import served_flush
from recommend.serving import cache
from tests.recommend.serving.test_search_round_trips import RoundTrips, _search

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _key_reads(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "platform_core_apiclient" in q["sql"]]


def test_a_cold_search_makes_three_redis_round_trips_and_no_api_key_query(
    storefront, serving_store, monkeypatch
):
    _search(storefront, "running shoes")  # the process caches, the key's row included
    trips = RoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as captured:
        body = _search(storefront, "wireless headphones")  # cold: result and vector are new
    assert body["results"]
    assert not _key_reads(captured), _key_reads(captured)
    # the key's generation + usage count + throttle + the serving generations (one script),
    # the result with the query vector, and one pipeline with every write
    assert len(trips.sent) == 3, "\n".join(map(str, trips.sent))
    name, args = trips.sent[0]
    assert name == "EVALSHA" and "throttle:client" in args and "models-generation" in args
    assert trips.sent[-1] == ("PIPELINE", "SET,SET,EVALSHA,EVALSHA"), trips.sent


def test_a_searchs_writes_are_sent_once_its_response_is_complete(
    storefront, serving_store, monkeypatch
):
    """The cached result, the query vector and the log rows leave from the response's close(),
    which the server calls once it has sent the body: nothing is sent before the response is
    whole, everything before the test client (as a worker before its next request) returns."""
    _search(storefront, "running shoes")
    trips = RoundTrips(monkeypatch)
    at_close = []
    plain_close = HttpResponseBase.close

    def close(response):
        at_close.append((list(trips.sent), response.content))
        plain_close(response)

    monkeypatch.setattr(HttpResponseBase, "close", close)
    body = _search(storefront, "wireless headphones")
    ((sent_before, content),) = at_close
    assert json.loads(content)["request_id"] == body["request_id"]  # rendered, whole
    assert "PIPELINE" not in [name for name, _ in sent_before], sent_before
    assert trips.sent[len(sent_before) :] == [("PIPELINE", "SET,SET,EVALSHA,EVALSHA")]
    services.searchlogs_flush()
    assert SearchLog.objects.filter(request_id=body["request_id"]).count() == 1


def test_a_failure_sending_the_writes_after_the_response_is_logged(
    storefront, serving_store, monkeypatch, caplog
):
    """Django's close() swallows a closer's exception: the view logs its own."""

    def broken(ctx):
        raise RuntimeError("no connection to anything")

    monkeypatch.setattr(cache, "request_writes_send", broken)
    body = _search(storefront, "espresso")
    assert [r for r in caplog.records if body["request_id"] in r.getMessage()], caplog.text


def test_recommendations_send_their_writes_and_log_row_in_one_pipeline(
    storefront, serving_store, monkeypatch
):
    storefront.get("/api/v1/recommendations", {"size": 5, "session": "warm"})
    trips = RoundTrips(monkeypatch)
    response = storefront.get("/api/v1/recommendations", {"size": 5, "session": "s-2"})
    assert response.status_code == 200, response.content
    # after the key's script (throttle and generations with it) and the result read: the
    # writes, once
    writes = trips.sent[2:]
    assert len(writes) == 1 and writes[0][0] == "PIPELINE", "\n".join(map(str, trips.sent))
    assert writes[0][1].endswith("EVALSHA"), writes  # (SET: the result, when cacheable)


def test_the_deferred_rows_land_in_the_logs(storefront, serving_store):
    body = _search(storefront, "coffee grinder")
    rec = storefront.get("/api/v1/recommendations", {"size": 5, "session": "s-1"}).json()
    services.searchlogs_flush()
    served_flush()
    log = SearchLog.objects.get(request_id=body["request_id"])
    assert log.query == "coffee grinder" and log.result_count == body["total"]
    assert set(
        ServedRequest.objects.filter(
            request_id__in=[body["request_id"], rec["request_id"]]
        ).values_list("endpoint", flat=True)
    ) == {"search", "recommendations"}
    # the cached result was written too: the same search again is a hit
    again = storefront.get("/api/v1/search", {"q": "coffee grinder"})
    assert 'cache;desc="hit"' in again["Server-Timing"]


def test_log_rows_redis_refuses_are_written_directly(storefront, serving_store, monkeypatch):
    """Redis down at the end of the request: the fallbacks write both rows to the database."""

    def refused(writes, pushes):
        return ["failed"] * len(list(pushes))

    monkeypatch.setattr(buffers, "send", refused)
    body = _search(storefront, "espresso")
    assert SearchLog.objects.filter(request_id=body["request_id"]).count() == 1
    assert ServedRequest.objects.filter(request_id=body["request_id"]).count() == 1


def test_a_held_key_is_read_again_after_any_change_to_its_client(serving_state):
    client, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    assert caller.get("/api/v1/whoami").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert caller.get("/api/v1/whoami").status_code == 200
    assert not _key_reads(captured)  # held by the process

    client.scopes = ["events"]  # an edit in the admin: the read scope removed
    client.save()
    assert caller.get("/api/v1/search", {"q": "x"}).status_code == 403

    new_key = api_client_rotate(client=client)
    assert caller.get("/api/v1/whoami").status_code == 401
    assert _client(new_key).get("/api/v1/whoami").status_code == 200

    api_client_revoke(client=client)
    response = _client(new_key).get("/api/v1/whoami")
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_another_process_sees_the_change_through_the_generation(serving_state):
    """A process that holds the row learns of a change made elsewhere from the generation (its
    own held rows are not cleared here: only the generation is bumped, as another process's
    write bumps it)."""
    from platform_core import api_keys
    from platform_core.models import ApiClient

    client, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    assert caller.get("/api/v1/whoami").status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(active=False)  # no signal: another process
    assert caller.get("/api/v1/whoami").status_code == 200  # still held, generation unchanged
    api_keys.API_CLIENTS_GENERATION.bump()
    assert caller.get("/api/v1/whoami").status_code == 401


def test_a_warm_worker_holds_the_active_keys_before_their_first_request(serving_state):
    """The warm-up holds every active client's row, so a storefront's first call to a fresh
    worker reads none; a revoked client is not held, and a key held through a write made after
    the warm-up is read again (the generation moved on)."""
    from platform_core import api_keys
    from platform_core.models import ApiClient

    _, key = api_client_create(name="shop", scopes="read")
    revoked, revoked_key = api_client_create(name="gone", scopes="read")
    api_client_revoke(client=revoked)
    api_keys._held.clear()
    assert api_keys.hold_active() == 1
    with CaptureQueriesContext(connection) as captured:
        assert _client(key).get("/api/v1/whoami").status_code == 200
    assert not _key_reads(captured)
    assert _client(revoked_key).get("/api/v1/whoami").status_code == 401

    api_keys._held.clear()
    api_keys.hold_active()
    ApiClient.objects.filter(name="shop").update(active=False)
    api_keys.API_CLIENTS_GENERATION.bump()  # another process's write
    assert _client(key).get("/api/v1/whoami").status_code == 401


def test_held_keys_still_count_every_request(serving_state):
    from platform_core.services import api_client_usage_flush

    client, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    for _ in range(4):
        assert caller.get("/api/v1/whoami").status_code == 200
    assert api_client_usage_flush() == 4
    client.refresh_from_db()
    assert client.request_count == 4 and client.last_used_at is not None


def _rate(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "client": rate,
        },
    }


def test_a_held_keys_throttle_runs_in_its_round_trip_and_counts_each_request_once(
    serving_state, monkeypatch, settings
):
    _rate(settings, "2/min")
    _, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    trips = RoundTrips(monkeypatch)
    assert caller.get("/api/v1/whoami").status_code == 200  # the row read: a script of its own
    assert [name for name, _ in trips.sent] == ["EVALSHA", "PIPELINE", "EVALSHA"], trips.sent
    assert "throttle" in trips.sent[-1][1]
    trips.sent.clear()
    assert caller.get("/api/v1/whoami").status_code == 200  # held: one round trip for both
    assert len(trips.sent) == 1 and "throttle:client:client-" in trips.sent[0][1], trips.sent
    trips.sent.clear()
    refused = caller.get("/api/v1/whoami")  # the third in a minute: 2/min counted once each
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert len(trips.sent) == 1, trips.sent


def test_a_key_whose_row_changed_runs_its_throttle_on_its_own(serving_state, settings):
    """The generation moved on: nothing rode with the check, and the throttle still counts."""
    from platform_core import api_keys

    _rate(settings, "2/min")
    _, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    assert caller.get("/api/v1/whoami").status_code == 200
    api_keys.API_CLIENTS_GENERATION.bump()  # another process's write
    assert caller.get("/api/v1/whoami").status_code == 200
    assert caller.get("/api/v1/whoami").status_code == 429


def test_a_search_reads_the_generations_its_key_round_trip_read(
    storefront, serving_store, monkeypatch
):
    """The serving generations ride with the key's check: a bump just before the request is
    what the request serves with (the cached result of the old config is not reused)."""
    from recommend.serving.cache import bump_config_generation

    _search(storefront, "coffee grinder")
    trips = RoundTrips(monkeypatch)
    again = storefront.get("/api/v1/search", {"q": "coffee grinder"})
    assert 'cache;desc="hit"' in again["Server-Timing"]
    # read in the key's script only, never by a command of their own
    reads = [name for name, args in trips.sent if "models-generation" in args]
    assert reads == ["EVALSHA"], trips.sent
    bump_config_generation()
    fresh = storefront.get("/api/v1/search", {"q": "coffee grinder"})
    assert 'cache;desc="hit"' not in fresh["Server-Timing"], fresh["Server-Timing"]


def test_riders_that_fail_leave_the_request_to_do_its_own(serving_state, monkeypatch, settings):
    """A broken rider (a view's throttles that cannot be built) never fails the request: the key
    is still checked in its round trip, and the throttle runs on its own and still counts."""
    from platform_core.api import authentication

    _rate(settings, "2/min")
    _, key = api_client_create(name="shop", scopes="read")
    caller = _client(key)
    assert caller.get("/api/v1/whoami").status_code == 200

    def broken(view, client):
        raise RuntimeError("no riders today")

    monkeypatch.setattr(authentication, "_riders", broken)
    assert caller.get("/api/v1/whoami").status_code == 200
    assert caller.get("/api/v1/whoami").status_code == 429
