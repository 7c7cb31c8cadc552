"""/metrics: who may read it, and the figures the request path and the scrape-time sources add."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from platform_core import metrics
from tests.factories import JobFactory

OUTSIDE = "203.0.113.7"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """``{(sample name, labels): value}`` of a text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


def value(figures, name: str, **labels) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.django_db
def test_loopback_reads_the_metrics_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    figures = scrape(client)  # the test client comes from 127.0.0.1
    assert value(figures, "aisle_metrics_source_up", source="platform") == 1
    assert any(name == "aisle_celery_queue_length" for name, _ in figures)


@pytest.mark.django_db
def test_outside_callers_need_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = ""
    refused = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "METRICS_TOKEN" in refused.json()["error"]["message"]

    settings.METRICS_TOKEN = "s3cret-token"
    missing = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")

    wrong = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "permission_denied"

    ok = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert ok.status_code == 200 and b"aisle_metrics_source_up" in ok.content

    assert client.post("/metrics").status_code == 405


@pytest.mark.django_db
def test_networks_come_from_the_setting_and_a_proxied_request_is_not_internal(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403

    # a reverse proxy on this host the settings do not know of: every caller looks local
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.TRUSTED_PROXY_COUNT = 0
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE)
    assert proxied.status_code == 403
    # one trusted proxy: the address it appended is the caller's
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=OUTSIDE).status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_server_timing_is_read_into_stages():
    header = 'spell;dur=0.12, semantic;dur=4.50, total;dur=7.25, cache;desc="hit", bad;dur=x'
    assert metrics.parse_server_timing(header) == {"spell": 0.12, "semantic": 4.5, "total": 7.25}
    assert metrics.parse_server_timing("") == {}


def test_a_served_search_adds_latency_stages_cache_and_outcome(client, storefront, serving_store):
    before = scrape(client)
    for _ in range(2):  # the second is a result-cache hit
        assert storefront.get("/api/v1/search", {"q": "running shoes"}).status_code == 200
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/v1/search"
    count = "aisle_http_request_duration_seconds_count"
    assert grew(count, endpoint=route, method="GET", status="2xx") == 2
    assert grew("aisle_serving_stage_duration_seconds_count", endpoint=route, stage="total") == 2
    assert grew("aisle_serving_stage_duration_seconds_count", endpoint=route, stage="fusion") == 1
    assert grew("aisle_serving_cache_lookups_total", cache="result", result="miss") == 1
    assert grew("aisle_serving_cache_lookups_total", cache="result", result="hit") == 1
    found = grew("aisle_searches_total", outcome="results")
    assert found + grew("aisle_searches_total", outcome="zero_results") == 2


@pytest.mark.django_db
def test_events_ingested_are_counted_by_outcome(client, storefront):
    from tests.factories import ProductFactory

    product = ProductFactory(external_id="p-1")
    before = scrape(client)
    event = {"shopper": "s1", "type": "view", "timestamp": "2026-01-02T10:00:00Z"}
    batch = {
        "events": [
            {**event, "event_id": "e1", "product": product.external_id},
            {**event, "event_id": "e1", "product": product.external_id},
            {**event, "event_id": "e2", "product": "nope"},
        ]
    }
    assert storefront.post("/api/v1/events", batch, format="json").status_code in (200, 202)
    after = scrape(client)
    grew = {
        outcome: value(after, "aisle_events_ingested_total", outcome=outcome)
        - value(before, "aisle_events_ingested_total", outcome=outcome)
        for outcome in ("accepted", "duplicate", "rejected")
    }
    assert grew["accepted"] == 1 and grew["rejected"] == 1, grew


@pytest.mark.django_db
def test_scrape_time_gauges_read_jobs_buffers_and_alerts(client, serving_state):
    from platform_core import alerts

    JobFactory(kind="embed_catalog", status="failed")
    JobFactory(kind="embed_catalog", status="failed")
    JobFactory(kind="train_cf", status="succeeded")
    alerts.alerts_evaluate()
    figures = scrape(client)
    assert value(figures, "aisle_jobs", kind="embed_catalog", status="failed") == 2
    assert value(figures, "aisle_jobs", kind="train_cf", status="succeeded") == 1
    assert value(figures, "aisle_alerts_open", rule="job_failed") == 2
    assert value(figures, "aisle_buffer_backlog_rows", buffer="searchlog") == 0
    assert ("aisle_buffer_dead_letters", frozenset({("buffer", "searchlog")})) in figures


@pytest.mark.django_db
def test_a_failing_source_is_reported_and_the_others_still_served(client, monkeypatch):
    def broken():
        raise ConnectionError("redis is down")

    monkeypatch.setitem(metrics._gauge_sources, "platform", broken)
    figures = scrape(client)
    assert value(figures, "aisle_metrics_source_up", source="platform") == 0
    assert value(figures, "aisle_metrics_source_up", source="jobs") == 1
