"""Intent that acts: the same query with intent=buy and intent=review gets different orders —
buy favours products in stock, review products with many good ratings — and each moved item
says why; intent=… is validated; "intent logged only" keeps one order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from catalog.models import EventType
from recommend import services
from recommend.models import IntentBehaviour, Strategy
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


@pytest.fixture
def rated_store(serving_store):
    """Out-of-stock hp-3 is the one product with ratings (many, good) and a review text; the
    strategy shows out-of-stock products (so the buy intent has something to demote)."""
    Strategy.objects.filter(surface="search").update(hide_out_of_stock=False)
    services.config_changed()
    shopper = ShopperFactory()
    for n in range(12):
        EventFactory(
            shopper=shopper,
            product=serving_store.products["hp-3"],
            type=EventType.REVIEW if n == 0 else EventType.RATING,
            value=5 if n % 3 else 4,
            review="Great sound for runs, the case charges fast." if n == 0 else "",
            timestamp=T0 + timedelta(minutes=n),
        )
    services.aggregates_refresh()
    return serving_store


def search(client, **params):
    response = client.get("/api/v1/search", {"q": "headphones", "size": 4, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_buy_and_review_order_the_same_query_differently_for_the_documented_reasons(
    storefront, rated_store
):
    buy = search(storefront, intent="buy")
    review = search(storefront, intent="review")

    assert buy["intent"] == {
        "label": "buy",
        "score": 1.0,
        "source": "request",
        "reason": "the intent= parameter",
    }
    assert ids(buy) != ids(review)
    # buy: the out-of-stock earbuds fall behind the products in stock (out of the first three)
    assert "hp-3" not in ids(buy)[:3]
    assert all(r["product"]["in_stock"] for r in buy["results"][:3])
    # review: the only rated product comes first, and says why it moved up
    assert ids(review)[0] == "hp-3", (ids(review), ids(search(storefront, intent="support")))
    top = review["results"][0]
    moved = top["explanation"]["intent"]
    assert moved["label"] == "review" and moved["moved"] == "up" and moved["to"] == 1
    assert moved["from"] > 1
    assert "rated 4.7/5 by 12" in moved["because"]
    assert top["review_snippets"] == [
        {"text": "Great sound for runs, the case charges fast.", "rating": 4.0}
    ]
    demoted = next(r for r in buy["results"] if r["product"]["id"] == "hp-3")
    if "intent" in demoted["explanation"]:
        assert "out of stock" in demoted["explanation"]["intent"]["because"]
    assert "review_snippets" not in buy["results"][0]


def test_intent_logged_only_keeps_one_order(storefront, rated_store):
    Strategy.objects.filter(surface="search").update(intent_acts=False)
    services.config_changed()
    buy, review = search(storefront, intent="buy"), search(storefront, intent="review")
    assert ids(buy) == ids(review)
    assert review["intent"]["label"] == "review"  # still returned (and logged)
    assert all("intent" not in r["explanation"] for r in review["results"])


def test_an_edited_behaviour_changes_what_the_intent_does(storefront, rated_store):
    services.intent_behaviours_ensure_defaults()
    strategy = Strategy.objects.get(surface="search", is_default=True)
    row = IntentBehaviour.objects.get(strategy=strategy, intent="review")
    row.strength = 0.0
    services.intent_behaviour_save(behaviour=row)
    services.config_changed()  # (on_commit does not fire inside the test's transaction)
    review = search(storefront, intent="review")
    assert ids(review) == ids(search(storefront, intent="support"))  # no reordering left
    assert Strategy.objects.get(pk=strategy.pk).version == strategy.version + 1


def test_a_bad_intent_is_a_json_400(storefront, serving_store):
    response = storefront.get("/api/v1/search", {"q": "headphones", "intent": "shopping"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "intent" in str(error)
    assert "buy" in str(error)


def test_the_intent_mapping_admin_pages_render(client, operator_user, serving_store):
    services.intent_behaviours_ensure_defaults()
    strategy = Strategy.objects.get(surface="search", is_default=True)
    assert set(strategy.intent_behaviours.values_list("intent", flat=True)) == {
        "buy",
        "review",
        "browse",
        "support",
    }
    client.force_login(operator_user)
    page = client.get(reverse("admin:recommend_intentbehaviour_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "in stock ×1" in text and "more brands and categories" in text
    assert (
        client.get(
            reverse("admin:recommend_intentbehaviour_changelist"), {"q": "review", "intent": "buy"}
        ).status_code
        == 200
    )
    change = client.get(reverse("admin:recommend_strategy_change", args=[strategy.pk]))
    assert change.status_code == 200
    assert "Intent behaviours" in change.content.decode()
