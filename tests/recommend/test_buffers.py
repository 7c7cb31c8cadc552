"""Buffers that lose nothing and that one bad row cannot stop (nothing served is lost).

Reproduction: a search with ``X-Aisle-Simulated-Time: 2000-01-01T12:18:18-19:31`` was served,
its row queued, and every flush from then on failed on it (PostgreSQL refuses the offset), so
no search log and no exposure was stored again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from platform_core import buffers
from platform_core.timeparse import parse_iso8601_utc
from recommend.buffers import EXPOSURE, SEARCHLOG

POISON_TIME = "2000-01-01T12:18:18-19:31"  # Python accepts this offset, PostgreSQL does not


def _clear_buffers() -> None:
    client = buffers.redis_client()
    for buffer in buffers.REGISTRY.values():
        keys = [buffer.key, buffer.dead_key, buffer.dropped_key, buffer.claims_key]
        keys += list(client.scan_iter(match=f"{buffer.key}:processing:*"))
        client.delete(*keys)


@pytest.fixture
def empty_buffers():
    _clear_buffers()
    yield
    _clear_buffers()


# --- the header -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        POISON_TIME,
        "",
        "   ",
        "2030-01-02T03:04:05",
        "2030-01-02",
        "yesterday",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1969-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2030-02-30T00:00:00Z",
        "2030-01-02T03:04:05+14:01",
        "2030-01-02T03:04:05+24:00",
    ],
)
def test_strict_times_refuse_what_postgresql_cannot_store_or_what_is_ambiguous(raw):
    with pytest.raises(ValueError):
        parse_iso8601_utc(raw)


def test_strict_times_convert_to_utc():
    assert parse_iso8601_utc("2030-01-02T03:04:05+14:00") == datetime(
        2030, 1, 1, 13, 4, 5, tzinfo=UTC
    )
    assert parse_iso8601_utc("2030-01-02T03:04:05.25z") == datetime(
        2030, 1, 2, 3, 4, 5, 250000, tzinfo=UTC
    )
    assert parse_iso8601_utc(" 2030-01-02T03:04-0530 ").utcoffset().total_seconds() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [POISON_TIME, "", "2030-01-02T03:04:05"])
def test_simulated_time_header_that_cannot_be_stored_is_a_400(
    serving_store, storefront, empty_buffers, raw
):
    response = storefront.get("/api/v1/search", {"q": "nil"}, HTTP_X_AISLE_SIMULATED_TIME=raw)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert "X-Aisle-Simulated-Time" in response.json()["error"]["message"]
    assert SEARCHLOG.pending() == 0  # nothing served, nothing queued


# --- one bad row in each buffer ------------------------------------------------------------


@pytest.mark.django_db
def test_an_unstorable_search_log_is_dead_lettered_and_the_others_land(
    serving_store, storefront, empty_buffers, client, operator_user
):
    from catalog.models import SearchLog
    from recommend import services

    served = [
        storefront.get("/api/v1/search", {"q": q}).json()["request_id"]
        for q in ("kettle", "laptop")
    ]
    assert (
        SEARCHLOG.push({"request_id": "poison", "query": "nil", "timestamp": POISON_TIME})
        == "queued"
    )
    served.append(storefront.get("/api/v1/search", {"q": "headphones"}).json()["request_id"])
    assert SEARCHLOG.pending() == 4

    assert services.searchlogs_flush() == 4
    assert set(SearchLog.objects.values_list("request_id", flat=True)) == set(served)
    stats = SEARCHLOG.stats()
    assert (stats["pending"], stats["claimed"], stats["dead_letters"]) == (0, 0, 1)
    (letter,) = SEARCHLOG.dead_letters()
    assert letter.request_id == "poison" and "DataError" in letter.error
    # the next flush is not stuck behind it
    later = storefront.get("/api/v1/search", {"q": "kettle"}).json()["request_id"]
    assert services.searchlogs_flush() == 1 and SearchLog.objects.filter(request_id=later).exists()

    client.force_login(operator_user)
    services.aggregates_refresh()  # as bootstrap does: readiness waits for them
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    check = ready.json()["checks"]["buffers"]
    assert check["status"] == "degraded" and check["detail"]["searchlog"]["dead_letters"] == 1
    assert any("searchlog: 1 dead letters" in p for p in check["detail"]["problems"])


@pytest.mark.django_db
def test_an_unstorable_exposure_is_dead_lettered_and_the_others_land(
    serving_store, storefront, empty_buffers, operator_user
):
    from recommend.experiments import services as experiment_services
    from recommend.experiments.models import Exposure
    from tests.experiments.test_experiments_assignment import _running

    experiment, _, _ = _running(operator_user)
    good = [
        storefront.get("/api/v1/search", {"q": "kettle", "shopper": f"s{i}"}).json()
        for i in range(3)
    ]
    assert experiment_services.exposures_pending() == 3
    row = json.loads(buffers.redis_client().lindex(EXPOSURE.key, 0))
    EXPOSURE.push({**row, "request_id": "poison", "unit_id": "poisoner", "timestamp": POISON_TIME})

    assert experiment_services.exposures_flush() == 4
    assert set(
        Exposure.objects.filter(experiment=experiment).values_list("request_id", flat=True)
    ) == {g["request_id"] for g in good}
    (letter,) = EXPOSURE.dead_letters()
    assert letter.request_id == "poison"
    assert EXPOSURE.stats()["pending"] == 0


# --- claims, crashes and overflow ----------------------------------------------------------


@pytest.mark.django_db
def test_rows_claimed_by_a_flusher_that_died_are_requeued_in_order_and_stored_once(
    serving_store, storefront, empty_buffers
):
    from catalog.models import SearchLog
    from recommend import services

    served = [
        storefront.get("/api/v1/search", {"q": q}).json()["request_id"]
        for q in ("kettle", "laptop", "mug")
    ]
    token, items = SEARCHLOG.claim(2)  # a flusher took two rows and died before acknowledging
    assert len(items) == 2 and SEARCHLOG.pending() == 1
    assert SEARCHLOG.stats()["claimed"] == 2
    assert buffers.reclaim_stale(older_than=3600) == {
        "exposure": 0,
        "searchlog": 0,
        "served": 0,
    }  # not stale yet
    assert buffers.reclaim_stale(older_than=0)["searchlog"] == 2
    assert [
        json.loads(i)["request_id"] for i in buffers.redis_client().lrange(SEARCHLOG.key, 0, -1)
    ] == served
    services._searchlog_write([json.loads(items[0])])  # ...and it had written one row before dying
    assert services.searchlogs_flush() == 3
    assert sorted(SearchLog.objects.values_list("request_id", flat=True)) == sorted(served)
    assert SEARCHLOG.stats() == {
        "pending": 0,
        "dead_letters": 0,
        "dropped": 0,
        "claimed": 0,
        "claims": 0,
    }


@pytest.mark.django_db
def test_a_full_buffer_drops_and_counts_but_never_fails_the_request(
    serving_store, storefront, empty_buffers, settings
):
    settings.BUFFER_MAX_ROWS = 2
    responses = [storefront.get("/api/v1/search", {"q": q}) for q in ("kettle", "laptop", "mug")]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert SEARCHLOG.stats()["pending"] == 2 and SEARCHLOG.stats()["dropped"] == 1


# --- the admin page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_dead_letters_page_lists_retries_and_discards_with_an_audit(
    client, operator_user, analyst_user, empty_buffers
):
    from platform_core.models import AuditLog
    from recommend import services

    SEARCHLOG.push({"request_id": "poison-1", "query": "a", "timestamp": POISON_TIME})
    SEARCHLOG.push({"request_id": "poison-2", "query": "b", "timestamp": POISON_TIME})
    services.searchlogs_flush()
    assert SEARCHLOG.stats()["dead_letters"] == 2

    client.force_login(analyst_user)
    page = client.get("/admin/platform_core/deadletter/")
    assert page.status_code == 200 and b"poison-1" in page.content and b"DataError" in page.content
    assert b'value="retry"' not in page.content  # analysts read, they do not act
    letter = SEARCHLOG.dead_letters()[0]
    refused = client.post(
        "/admin/platform_core/deadletter/act/",
        {"action": "discard", "buffer": "searchlog", "entry": letter.raw},
    )
    assert refused.status_code == 403 and SEARCHLOG.stats()["dead_letters"] == 2

    client.force_login(operator_user)
    home = client.get("/admin/")
    assert "2 buffered row(s) could not be stored" in home.content.decode()
    first, second = SEARCHLOG.dead_letters()
    done = client.post(
        "/admin/platform_core/deadletter/act/",
        {"action": "retry", "buffer": "searchlog", "entry": first.raw},
        follow=True,
    )
    assert done.status_code == 200
    assert SEARCHLOG.pending() == 1 and SEARCHLOG.stats()["dead_letters"] == 1
    assert (
        json.loads(buffers.redis_client().lindex(SEARCHLOG.key, 0))["request_id"]
        == first.request_id
    )
    client.post(
        "/admin/platform_core/deadletter/act/",
        {"action": "discard", "buffer": "searchlog", "entry": second.raw},
    )
    assert SEARCHLOG.stats()["dead_letters"] == 0
    actions = list(
        AuditLog.objects.filter(action__startswith="dead_letter.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["dead_letter.discard", "dead_letter.retry"]
