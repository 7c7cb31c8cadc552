"""New-product exposure in recommendations: an opt-in share of the list for products the shop
has hardly shown (impressions from the served-request rollups), picked by Thompson sampling and
placed below the top slots; off by default, and filters, exclusions and stock hold for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from platform_core import caches
from recommend import services
from recommend.analytics.models import ProductDayRollup
from recommend.engine.exploration import explore_positions
from recommend.models import Strategy
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)
TRENDING = ["hp-1", "hp-2", "lt-1", "lt-2", "tv-1", "tv-2", "kt-1", "kt-3"]
SHOWN_ENOUGH = "hp-4"  # few clicks, but 100 impressions: above the strategy's 50
POOL = {"lt-3", "kt-2", "kt-4", "sh-1", "sh-2", "sh-3"}  # hp-3 is out of stock


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


@pytest.fixture
def exposure(serving_store):
    """Eight products trend (and were shown a lot); the rest were hardly shown."""
    for i in range(4):
        shopper = ShopperFactory(external_id=f"crowd-{i}")
        for n, product in enumerate(TRENDING):
            EventFactory(
                shopper=shopper,
                product=serving_store.products[product],
                type="view",
                timestamp=T0 + timedelta(hours=i, minutes=n),
            )
    today = timezone.now().date()
    for product in [*TRENDING, SHOWN_ENOUGH]:
        ProductDayRollup.objects.create(
            day=today,
            product_id=serving_store.products[product].pk,
            impressions=500 if product != SHOWN_ENOUGH else 100,
            clicks=40 if product != SHOWN_ENOUGH else 1,
        )
    return serving_store


def _explore(share: float, max_impressions: int = 50) -> None:
    strategy = Strategy.objects.get(surface="recommendations", is_default=True)
    strategy.exploration_share = share
    strategy.exploration_max_impressions = max_impressions
    services.strategy_save(strategy=strategy, changed=["exploration_share"])
    services.aggregates_refresh()


def test_exploration_is_off_by_default(storefront, exposure):
    services.aggregates_refresh()
    body = storefront.get("/api/v1/recommendations", {"size": 6}).json()
    assert ids(body) and set(ids(body)) <= set(TRENDING)
    assert all(r["explanation"]["source"] != "exploration" for r in body["results"])


def test_a_share_of_slots_goes_to_barely_shown_products_below_the_top(storefront, exposure):
    _explore(0.3)
    seen: set[str] = set()
    for _ in range(5):  # Thompson sampling draws anew for each computed list
        body = storefront.get("/api/v1/recommendations", {"size": 6}).json()
        results = body["results"]
        explored = [i for i, r in enumerate(results) if r["explanation"]["source"] == "exploration"]
        assert len(results) == 6
        assert explored == explore_positions(6, 2, 3) == [3, 5], explored
        picked = {results[i]["product"]["id"] for i in explored}
        assert picked <= POOL, picked
        assert all(results[i]["product"]["in_stock"] for i in explored)
        assert {r["product"]["id"] for r in results[:3]} <= set(TRENDING)  # top slots earned
        assert results[3]["explanation"]["personalisation"].startswith("new to the shop")
        seen |= picked
        cache.clear()  # the next list is computed (and drawn) anew
        caches.reset_all()
        services.aggregates_refresh()
    assert SHOWN_ENOUGH not in seen


def test_exploration_keeps_the_request_filters_exclusions_and_stock(storefront, exposure):
    _explore(0.5)
    body = storefront.get("/api/v1/recommendations", {"size": 6, "category": "electronics"}).json()
    results = body["results"]
    assert all(r["product"]["category"]["id"] in {"headphones", "laptops", "tv"} for r in results)
    explored = [
        (i, r["product"]["id"])
        for i, r in enumerate(results)
        if r["explanation"]["source"] == "exploration"
    ]
    # the electronics pool is lt-3 alone: hp-3 is out of stock, hp-4 has been shown enough
    assert explored == [(explore_positions(6, 1, 3)[0], "lt-3")]
    cache.clear()
    body = storefront.get(
        "/api/v1/recommendations", {"size": 6, "category": "electronics", "exclude_ids": "lt-3"}
    ).json()
    assert "lt-3" not in ids(body)
    assert all(r["explanation"]["source"] != "exploration" for r in body["results"])
