"""The fallback chain of recommendations: CF -> profile -> interests -> trending -> popular
(then the rest of the catalogue), so a shopper gets ``size`` results while enough active
products pass the request's exclusions and filters, before and after a CF model exists; each
item's explanation names the source that served it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import scipy.sparse as sp

from catalog.models import Product, Shopper
from platform_core import caches
from recommend import services
from recommend.serving import loaders
from tests.factories.catalog import EventFactory, ShopperFactory
from tests.factories.training import ModelVersionFactory
from training.ml.cf import Interactions, ItemItemCF

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SOURCES = {
    "context",
    "cf",
    "bought_together",
    "profile",
    "interests",
    "trending",
    "popular",
    "catalogue",
}


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


def events(shopper, store, items, *, start=T0):
    for n, (product, kind) in enumerate(items):
        EventFactory(
            shopper=shopper,
            product=store.products[product],
            type=kind,
            timestamp=start + timedelta(minutes=n),
        )
    Shopper.objects.filter(pk=shopper.pk).update(
        profile_version=shopper.profile_version + len(items)
    )
    services.shopper_profiles_refresh(shopper_ids=[shopper.pk])
    shopper.refresh_from_db()


def eligible(store, *, without=()) -> set[str]:
    """Active, in-stock products (the default strategy hides the rest) not in ``without``."""
    return {
        p.external_id
        for p in Product.objects.filter(active=True, stock__gt=0)
        if p.external_id not in set(without)
    }


@pytest.fixture
def regular(serving_store):
    """A shopper whose whole history is one block of time long before the store's last
    events: the trending window (the last two weeks) holds only what others did lately, and
    the shopper bought most of it."""
    crowd = [ShopperFactory(external_id=f"crowd-{i}") for i in range(4)]
    for i, shopper in enumerate(crowd):
        events(
            shopper,
            serving_store,
            [("kt-1", "purchase"), ("sh-1", "purchase"), ("tv-1", "view")],
            start=T0 + timedelta(days=60, hours=i),
        )
    shopper = ShopperFactory(external_id="regular")
    events(
        shopper,
        serving_store,
        [
            ("kt-1", "purchase"),
            ("sh-1", "purchase"),
            ("tv-1", "purchase"),
            ("lt-1", "view"),
            ("hp-2", "view"),
        ],
        start=T0,
    )
    services.aggregates_refresh()
    return shopper


def active_cf(pairs: list[tuple[int, int]]):
    """An active CF version whose (real, item-kNN) model learnt ``(shopper pk, product pk)``."""
    users = sorted({u for u, _ in pairs})
    items = sorted({i for _, i in pairs})
    matrix = sp.csr_matrix(
        (
            np.ones(len(pairs), dtype=np.float32),
            ([users.index(u) for u, _ in pairs], [items.index(i) for _, i in pairs]),
        ),
        shape=(len(users), len(items)),
    )
    model = ItemItemCF.fit(Interactions(matrix, users, items))
    version = ModelVersionFactory(task="cf", is_active=True, dimension=None, base="")
    loaders._cf_models.put(version.pk, loaders.CFServing(model=model, keyed_by_external_id=False))
    caches.bump_models_generation()  # as activating a version through the services does
    return version


def assert_full(body, size, store, *, without=()):
    got = ids(body)
    expected = min(size, len(eligible(store, without=without)))
    assert len(got) == expected, (len(got), expected, got)
    assert len(set(got)) == len(got)
    assert not set(got) & set(without)
    for item in body["results"]:
        assert item["explanation"]["source"] in SOURCES, item["explanation"]


@pytest.mark.parametrize("size", [3, 10, 100])
def test_a_known_shopper_gets_a_full_list_without_a_cf_model(
    storefront, serving_store, regular, size
):
    body = storefront.get("/api/v1/recommendations", {"shopper": "regular", "size": size})
    assert body.status_code == 200, body.content
    assert_full(body.json(), size, serving_store, without={"kt-1", "sh-1", "tv-1"})


def test_a_known_shopper_gets_a_full_list_when_the_cf_model_does_not_know_them(
    storefront, serving_store, regular
):
    crowd = Shopper.objects.filter(external_id__startswith="crowd-")
    products = serving_store.products
    active_cf([(s.pk, products[p].pk) for s in crowd for p in ("kt-1", "sh-1", "tv-1")])
    try:
        body = storefront.get("/api/v1/recommendations", {"shopper": "regular", "size": 12})
        assert_full(body.json(), 12, serving_store, without={"kt-1", "sh-1", "tv-1"})
    finally:
        loaders._cf_models.clear()


def test_a_cf_model_that_knows_the_shopper_serves_first_and_the_list_stays_full(
    storefront, serving_store, regular
):
    products = serving_store.products
    crowd = Shopper.objects.filter(external_id__startswith="crowd-")
    pairs = [(s.pk, products[p].pk) for s in crowd for p in ("kt-1", "sh-1", "kt-2")]
    pairs += [(regular.pk, products[p].pk) for p in ("kt-1", "sh-1", "tv-1")]
    active_cf(pairs)
    try:
        body = storefront.get("/api/v1/recommendations", {"shopper": "regular", "size": 12})
        assert_full(body.json(), 12, serving_store, without={"kt-1", "sh-1", "tv-1"})
        by_id = {r["product"]["id"]: r["explanation"] for r in body.json()["results"]}
        assert by_id["kt-2"]["source"] == "cf"  # only CF knows kt-2 goes with their purchases
        assert by_id["kt-2"]["retrievers"]["cf"]["rank"] == 1
    finally:
        loaders._cf_models.clear()


def test_every_source_of_the_chain_is_named(storefront, serving_store, regular):
    body = storefront.get(
        "/api/v1/recommendations", {"shopper": "regular", "size": 100, "exclude": "none"}
    ).json()
    sources = {r["explanation"]["source"] for r in body["results"]}
    assert "profile" in sources and "popular" in sources, sources
    # an item's source is one of the retrievers that found it (popular: none did)
    for r in body["results"]:
        source, retrievers = r["explanation"]["source"], r["explanation"]["retrievers"]
        assert retrievers.get(source) is not None, r


def test_an_empty_store_log_still_fills_from_the_catalogue(storefront, serving_store):
    """No events at all (no trending, no popularity, no profile): the catalogue itself."""
    body = storefront.get("/api/v1/recommendations", {"size": 5}).json()
    assert_full(body, 5, serving_store)
    assert {r["explanation"]["source"] for r in body["results"]} == {"catalogue"}


def test_the_fallback_only_reads(storefront, serving_store, regular):
    """Filling along the chain (down to the catalogue) makes no database write."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.recommend.serving.test_read_path_writes import writes

    with CaptureQueriesContext(connection) as captured:
        body = storefront.get(
            "/api/v1/recommendations", {"shopper": "regular", "size": 100, "category": "home"}
        ).json()
    assert {r["explanation"]["source"] for r in body["results"]} >= {"catalogue"}
    assert writes(captured.captured_queries) == []


def test_the_shoppers_own_products_do_not_eat_the_cf_candidates(
    storefront, serving_store, regular, monkeypatch
):
    """CF ranks what the shopper already has too; with a budget of two candidates and three
    purchases, the one new product CF knows must still come from CF, not from a filler."""
    from recommend.serving import recs

    monkeypatch.setattr(recs, "CANDIDATES_PER_SOURCE", 2)
    products = serving_store.products
    crowd = Shopper.objects.filter(external_id__startswith="crowd-")
    pairs = [(s.pk, products[p].pk) for s in crowd for p in ("kt-1", "sh-1", "tv-1")]
    pairs += [(crowd[0].pk, products["kt-2"].pk)]  # weaker than the shopper's own products
    pairs += [(regular.pk, products[p].pk) for p in ("kt-1", "sh-1", "tv-1")]
    active_cf(pairs)
    try:
        body = storefront.get("/api/v1/recommendations", {"shopper": "regular", "size": 5})
        by_id = {r["product"]["id"]: r["explanation"] for r in body.json()["results"]}
        assert by_id.get("kt-2", {}).get("source") == "cf", by_id
    finally:
        loaders._cf_models.clear()
