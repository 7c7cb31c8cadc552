"""The read path only reads: a search and a recommendations request make no database write.

The search log goes through its Redis buffer, shopper profiles are recomputed by event
ingestion, default strategies come from a data migration (or bootstrap) and the aggregates
from beat; a request reads what they stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Shopper
from recommend import services
from recommend.models import Strategy
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)

#: Statements that change the database (a data-modifying CTE included); SAVEPOINT and RELEASE
#: (the test's own transaction) are not.
WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE|CREATE|ALTER|DROP"
    r"|COPY\s+\S+\s+FROM|SELECT\b.*\bFOR\s+(NO\s+KEY\s+)?UPDATE)\b",
    re.IGNORECASE | re.DOTALL,
)


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if WRITE.search(q["sql"])]


@pytest.fixture
def shopper(serving_store):
    """A shopper with new events (their profile version moved on since it was last computed)."""
    fan = ShopperFactory(external_id="reader")
    for n, product in enumerate(["kt-1", "kt-2", "kt-3", "sh-1"]):
        EventFactory(
            shopper=fan,
            product=serving_store.products[product],
            type="view",
            timestamp=T0 + timedelta(minutes=n),
        )
    Shopper.objects.filter(pk=fan.pk).update(profile_version=4)
    services.aggregates_refresh()
    return fan


def test_the_pin_counts_writes():
    with CaptureQueriesContext(connection) as captured:
        Shopper.objects.filter(pk=0).update(category_interests={})
        list(Shopper.objects.filter(pk=0))
    assert len(writes(captured.captured_queries)) == 1


def test_search_and_recommendations_make_no_database_write(storefront, shopper):
    services.shopper_profiles_refresh(shopper_ids=[shopper.pk])  # what ingestion queues
    with CaptureQueriesContext(connection) as captured:
        search = storefront.get("/api/v1/search", {"q": "espresso", "shopper": "reader"})
        recs = storefront.get("/api/v1/recommendations", {"shopper": "reader", "size": 4})
        anonymous = storefront.get("/api/v1/recommendations", {"size": 4})
    assert search.status_code == recs.status_code == anonymous.status_code == 200
    assert search.json()["results"] and recs.json()["results"]
    assert writes(captured.captured_queries) == []
    assert "profile;desc" not in recs["Server-Timing"]  # not stale, not missing


def test_a_shopper_without_a_stored_profile_gets_one_computed_without_writes(storefront, shopper):
    """Events written in bulk (a file import, the demo store) or an expired profile: the request
    computes the profile from the events, reading only, and serves what the stored one will."""
    with CaptureQueriesContext(connection) as captured:
        computed = storefront.get("/api/v1/recommendations", {"shopper": "reader", "size": 4})
    assert computed.status_code == 200
    assert writes(captured.captured_queries) == []
    assert 'profile;desc="computed"' in computed["Server-Timing"]
    services.shopper_profiles_refresh(shopper_ids=[shopper.pk])
    stored = storefront.get("/api/v1/recommendations", {"shopper": "reader", "size": 4})
    assert "profile;desc" not in stored["Server-Timing"]
    ids = [r["product"]["id"] for r in computed.json()["results"]]
    assert ids and ids == [r["product"]["id"] for r in stored.json()["results"]]
    assert any(r["explanation"]["retrievers"].get("profile") for r in computed.json()["results"])


def test_a_missing_default_strategy_is_not_created_by_a_request(storefront, shopper):
    Strategy.objects.filter(is_default=True).delete()
    with CaptureQueriesContext(connection) as captured:
        search = storefront.get("/api/v1/search", {"q": "espresso"})
        recs = storefront.get("/api/v1/recommendations", {"shopper": "reader", "size": 4})
    assert search.status_code == recs.status_code == 200
    assert writes(captured.captured_queries) == []
    assert not Strategy.objects.filter(is_default=True).exists()
