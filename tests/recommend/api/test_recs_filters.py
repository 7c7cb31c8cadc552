"""Search's product filters on every recommendation endpoint: category (subtree), brand, price
range, in-stock and "not these ids"; one validation (a 400 JSON error), and for
recommendations a list that stays full while enough products match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Product, Shopper
from recommend import services
from recommend.models import Strategy
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)
ELECTRONICS = {"headphones", "laptops", "tv"}

#: name -> (query parameters, predicate over a result's product)
FILTERS = {
    "category": ({"category": "electronics"}, lambda p: p["category"]["id"] in ELECTRONICS),
    "brand": ({"brand": "stridex"}, lambda p: p["brand"] == "Stridex"),
    "price": ({"price_min": "30", "price_max": "120"}, lambda p: 30 <= p["price"] <= 120),
    "in_stock": ({"in_stock": "true"}, lambda p: p["in_stock"]),
    "exclude_ids": (
        {"exclude_ids": "kt-3, sh-2,kt-2,unknown-id"},
        lambda p: p["id"] not in {"kt-3", "sh-2", "kt-2"},
    ),
}
ENDPOINTS = {
    "recommendations": ("/api/v1/recommendations", {"shopper": "regular"}),
    "similar": ("/api/v1/products/kt-1/similar", {}),
    "bought-together": ("/api/v1/products/kt-1/bought-together", {}),
    "trending": ("/api/v1/trending", {}),
}


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


def events(shopper, store, items, *, start=T0, session=""):
    for n, (product, kind) in enumerate(items):
        EventFactory(
            shopper=shopper,
            product=store.products[product],
            type=kind,
            session=session,
            timestamp=start + timedelta(minutes=n),
        )
    Shopper.objects.filter(pk=shopper.pk).update(
        profile_version=shopper.profile_version + len(items)
    )
    services.shopper_profiles_refresh(shopper_ids=[shopper.pk])


@pytest.fixture
def store(serving_store):
    """Baskets that put kt-3, sh-2, kt-2, lt-3, hp-1, sh-1 and hp-3 (out of stock) with kt-1
    (trending too), a shopper who bought kt-1, and a similar strategy that lists every product
    in similarity order."""
    for i in range(3):
        buyer = ShopperFactory(external_id=f"buyer-{i}")
        events(
            buyer,
            serving_store,
            [
                (p, "purchase")
                for p in ("kt-1", "kt-3", "sh-2", "kt-2", "lt-3", "hp-1", "sh-1", "hp-3")
            ],
            session=f"basket-{i}",
            start=T0 + timedelta(days=30, hours=i),
        )
    regular = ShopperFactory(external_id="regular")
    events(
        regular,
        serving_store,
        [("kt-1", "purchase"), ("hp-2", "view"), ("lt-1", "view"), ("tv-2", "view")],
    )
    services.aggregates_refresh()
    Strategy.objects.filter(surface="similar", is_default=True).update(
        diversity="none", semantic_min_score=-1.0
    )
    services.config_changed()
    return serving_store


def matching(predicate, *, without=()) -> list[dict]:
    """Active in-stock products (the default strategies hide the rest) passing ``predicate``."""
    out = []
    for p in Product.objects.filter(active=True, stock__gt=0).select_related("category", "brand"):
        product = {
            "id": p.external_id,
            "category": {"id": p.category.external_id},
            "brand": p.brand.name if p.brand else None,
            "price": float(p.price),
            "in_stock": p.stock > 0,
        }
        if p.external_id not in without and predicate(product):
            out.append(product)
    return out


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_on_each_endpoint(storefront, store, endpoint, name):
    path, base = ENDPOINTS[endpoint]
    params, predicate = FILTERS[name]
    if name == "in_stock":  # out-of-stock products are listed unless the filter leaves them out
        Strategy.objects.update(hide_out_of_stock=False)
        services.config_changed()
    plain = storefront.get(path, {**base, "size": 100})
    filtered = storefront.get(path, {**base, **params, "size": 100})
    assert plain.status_code == filtered.status_code == 200, filtered.content
    got = filtered.json()["results"]
    assert got and all(predicate(r["product"]) for r in got), ids(filtered.json())
    if endpoint == "recommendations":  # the fallback chain fills from every matching product
        want = matching(predicate, without={"kt-1"})  # kt-1: purchased
        assert sorted(ids(filtered.json())) == sorted(p["id"] for p in want)
    else:  # one ranked source: the unfiltered order, restricted to the matching products
        assert ids(filtered.json()) == [
            r["product"]["id"] for r in plain.json()["results"] if predicate(r["product"])
        ]
    assert len(got) < len(plain.json()["results"])  # the filter did leave something out


def test_a_filtered_recommendation_list_is_full_when_enough_products_match(storefront, store):
    body = storefront.get(
        "/api/v1/recommendations", {"shopper": "regular", "category": "electronics", "size": 4}
    ).json()
    assert len(body["results"]) == 4
    assert all(r["product"]["category"]["id"] in ELECTRONICS for r in body["results"])


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_a_filter_matching_fewer_products_than_size_returns_what_matches(
    storefront, store, endpoint
):
    path, base = ENDPOINTS[endpoint]
    body = storefront.get(path, {**base, "brand": "Brewhaus", "size": 10})
    assert body.status_code == 200, body.content
    # Brewhaus makes kt-1 and kt-3; kt-1 is the anchor, or bought, except for trending
    assert sorted(ids(body.json())) == (["kt-1", "kt-3"] if endpoint == "trending" else ["kt-3"])
    nothing = storefront.get(path, {**base, "brand": "no-such-brand", "size": 10})
    assert nothing.status_code == 200 and nothing.json()["results"] == []


def test_in_stock_false_when_the_strategy_shows_out_of_stock_products(storefront, store):
    Strategy.objects.filter(surface="recommendations", is_default=True).update(
        hide_out_of_stock=False
    )
    services.config_changed()
    body = storefront.get(
        "/api/v1/recommendations", {"shopper": "regular", "in_stock": "false", "size": 10}
    ).json()
    assert ids(body) == ["hp-3"]  # the only product out of stock


def assert_error(response, field: str, code: str = "invalid") -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert field in error["details"], error
    return error


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"price_min": "-1"}, "price_min"),
        ({"price_min": "abc"}, "price_min"),
        ({"price_max": "nan"}, "price_max"),
        ({"price_min": "50", "price_max": "10"}, "price_max"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"exclude_ids": ",".join(f"p{i}" for i in range(201))}, "exclude_ids"),
        ({"exclude_ids": "x" * 129}, "exclude_ids"),
        ({"exclude_ids": "kt-1,k\x00t-2"}, "exclude_ids"),
    ],
)
def test_invalid_filters_are_a_400(storefront, serving_state, endpoint, params, field):
    path, base = ENDPOINTS[endpoint]
    assert_error(storefront.get(path, {**base, **params}), field)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_an_unknown_category_is_a_400(storefront, serving_store, endpoint):
    path, base = ENDPOINTS[endpoint]
    error = assert_error(
        storefront.get(path, {**base, "category": "no-such-category"}),
        "category",
        code="unknown_category",
    )
    assert "no-such-category" in error["message"]


@pytest.mark.parametrize(
    ("endpoint", "source"),
    [("similar", "semantic"), ("bought-together", "bought_together"), ("trending", "trending")],
)
def test_every_endpoint_names_the_source_of_each_item(storefront, store, endpoint, source):
    path, base = ENDPOINTS[endpoint]
    body = storefront.get(path, {**base, "size": 5}).json()
    assert body["results"]
    for item in body["results"]:
        assert item["explanation"]["source"] == source
        assert item["explanation"]["retrievers"][source]["rank"] >= 1
