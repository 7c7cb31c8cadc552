"""Recommendations, similar, bought-together, trending and autocomplete through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from catalog.models import Shopper
from recommend import services
from recommend.models import Strategy
from tests.factories.catalog import EventFactory, SearchLogFactory, ShopperFactory
from training.models import ProductEmbedding, ShopperProfile

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


def events(shopper, store, items, *, start=T0, session=""):
    """``items``: (product external id, event type) in time order; stored as ingestion stores
    them (the profile version moves on and the profile is recomputed)."""
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
    shopper.refresh_from_db()


@pytest.fixture
def popular(serving_store):
    """Store-wide traffic: espresso machine and trail shoes trend, then grinder, then TV."""
    crowd = [ShopperFactory(external_id=f"crowd-{i}") for i in range(6)]
    for i, shopper in enumerate(crowd):
        items = (
            [("kt-1", "view"), ("sh-1", "view")]
            + ([("kt-3", "view")] if i % 2 else [])
            + ([("tv-1", "view")] if i == 0 else [])
        )
        events(shopper, serving_store, items, start=T0 + timedelta(hours=i))
    services.aggregates_refresh()
    return crowd


def test_anonymous_and_unknown_shoppers_get_trending(storefront, popular):
    anonymous = storefront.get("/api/v1/recommendations", {"size": 3}).json()
    assert ids(anonymous)[:2] in (["kt-1", "sh-1"], ["sh-1", "kt-1"])
    assert all(r["explanation"]["retrievers"]["trending"] for r in anonymous["results"])
    unknown = storefront.get("/api/v1/recommendations", {"size": 3, "shopper": "never-seen"}).json()
    assert ids(unknown) == ids(anonymous)
    assert unknown["variant"] is None and unknown["request_id"] != anonymous["request_id"]


def test_new_shopper_gets_trending_in_the_categories_of_their_first_events(
    storefront, serving_store, popular
):
    newcomer = ShopperFactory(external_id="newcomer")
    events(newcomer, serving_store, [("kt-4", "view")], start=T0 + timedelta(days=1))
    body = storefront.get("/api/v1/recommendations", {"shopper": "newcomer", "size": 4}).json()
    assert ids(body)[:2] == ["kt-1", "kt-3"]  # the coffee category's trending items before sh-1
    assert (
        body["results"][0]["explanation"]["personalisation"]
        == "popular in categories you looked at"
    )


def test_established_shopper_gets_profile_recommendations_and_exclusions(
    storefront, serving_store, popular
):
    fan = ShopperFactory(external_id="headphone-fan")
    events(
        fan,
        serving_store,
        [("hp-1", "view"), ("hp-2", "view"), ("hp-2", "add_to_cart"), ("hp-2", "purchase")],
        start=T0 + timedelta(days=2),
    )
    body = storefront.get("/api/v1/recommendations", {"shopper": "headphone-fan", "size": 5}).json()
    assert "hp-2" not in ids(body)  # purchased: excluded by default
    assert "hp-1" in ids(body)  # only viewed
    headphones = [r for r in body["results"] if r["product"]["category"]["id"] == "headphones"]
    assert headphones and headphones[0]["explanation"]["retrievers"]["profile"]
    assert any(
        (r["explanation"]["personalisation"] or "").startswith("because you viewed ")
        for r in headphones
    )
    seen = storefront.get(
        "/api/v1/recommendations", {"shopper": "headphone-fan", "exclude": "seen"}
    ).json()
    assert not {"hp-1", "hp-2"} & set(ids(seen))
    everything = storefront.get(
        "/api/v1/recommendations", {"shopper": "headphone-fan", "exclude": "none", "size": 20}
    ).json()
    assert "hp-2" in ids(everything)
    assert ShopperProfile.objects.filter(
        shopper=fan, model_version=serving_store.retriever
    ).exists()
    fan.refresh_from_db()
    assert max(fan.category_interests, key=fan.category_interests.get) == "headphones"


def test_a_new_event_reaches_the_profile_before_the_next_request(
    storefront, serving_store, popular, django_capture_on_commit_callbacks, eager_tasks
):
    fan = ShopperFactory(external_id="switcher")
    events(
        fan,
        serving_store,
        [("hp-1", "view"), ("hp-2", "view"), ("hp-4", "view")],
        start=T0 + timedelta(days=2),
    )
    before = storefront.get("/api/v1/recommendations", {"shopper": "switcher", "size": 4}).json()
    assert before["results"][0]["product"]["category"]["id"] == "headphones"
    vector_before = list(ShopperProfile.objects.get(shopper=fan).vector)
    # The storefront sends new events through the events API (which bumps profile_version and,
    # once they commit, queues the profile's recomputation: a worker runs it in well under 2 s)
    with django_capture_on_commit_callbacks(execute=True):
        sent = storefront.post(
            "/api/v1/events",
            {
                "events": [
                    {
                        "event_id": f"switch-{i}",
                        "shopper": "switcher",
                        "product": product,
                        "type": "purchase",
                        "timestamp": (T0 + timedelta(days=3, minutes=i)).isoformat(),
                    }
                    for i, product in enumerate(["sh-1", "sh-2", "sh-3", "sh-1"])
                ]
            },
            format="json",
        )
    assert sent.status_code == 202, sent.content
    # ... and the very next request is answered from the updated profile.
    after = storefront.get(
        "/api/v1/recommendations", {"shopper": "switcher", "size": 4, "exclude": "none"}
    ).json()
    assert list(ShopperProfile.objects.get(shopper=fan).vector) != vector_before
    assert after["results"][0]["product"]["category"]["id"] == "running"
    assert any(
        "because you viewed" in (r["explanation"]["personalisation"] or "")
        and r["product"]["category"]["id"] == "running"
        for r in after["results"]
    )


def test_category_cap_diversifies(storefront, serving_store, popular):
    fan = ShopperFactory(external_id="coffee-lover")
    events(
        fan,
        serving_store,
        [("kt-1", "view"), ("kt-2", "view"), ("kt-3", "view"), ("kt-4", "view")],
        start=T0 + timedelta(days=2),
    )
    strategy = Strategy.objects.get(surface="recommendations", is_default=True)
    strategy.max_category_share = 0.5
    strategy.save()
    body = storefront.get(
        "/api/v1/recommendations", {"shopper": "coffee-lover", "size": 4, "exclude": "none"}
    ).json()
    categories = [r["product"]["category"]["id"] for r in body["results"]]
    assert len(categories) == 4 and categories.count("coffee") <= 2
    strategy.diversity = "none"
    strategy.save()
    body = storefront.get(
        "/api/v1/recommendations", {"shopper": "coffee-lover", "size": 4, "exclude": "none"}
    ).json()
    assert [r["product"]["category"]["id"] for r in body["results"]].count("coffee") >= 3


def test_similar_products(storefront, serving_store):
    body = storefront.get("/api/v1/products/hp-1/similar", {"size": 3}).json()
    assert "hp-1" not in ids(body)
    assert body["results"][0]["product"]["category"]["id"] == "headphones"
    assert body["results"][0]["explanation"]["personalisation"].startswith("similar to Voltic")
    assert body["results"][0]["explanation"]["retrievers"]["semantic"]["score"] > 0


def test_bought_together_and_trending_by_category(storefront, serving_store, popular):
    for i in range(3):
        buyer = ShopperFactory(external_id=f"buyer-{i}")
        events(
            buyer,
            serving_store,
            [("kt-1", "purchase"), ("kt-3", "purchase")],
            session=f"basket-{i}",
            start=T0 + timedelta(days=1, hours=i),
        )
    buyer = ShopperFactory(external_id="buyer-x")
    events(buyer, serving_store, [("kt-1", "purchase"), ("sh-3", "purchase")], session="basket-x")
    services.aggregates_refresh()
    together = storefront.get("/api/v1/products/kt-1/bought-together").json()
    assert ids(together) == ["kt-3"]  # sh-3 was bought with kt-1 once: below the minimum support
    assert together["results"][0]["explanation"]["retrievers"]["bought_together"]["rank"] == 1
    assert together["variant"] is None
    home = storefront.get("/api/v1/trending", {"category": "home"}).json()
    assert ids(home)[:2] == ["kt-1", "kt-3"] and all(
        r["product"]["category"]["id"] == "coffee" for r in home["results"]
    )
    everywhere = storefront.get("/api/v1/trending", {"size": 5}).json()
    assert ids(everywhere)[:2] == ["kt-1", "kt-3"] and {"sh-1", "sh-3"} <= set(ids(everywhere))


def test_bought_together_falls_back_to_complementary_categories(storefront, serving_store, popular):
    # Laptops are bought with headphones (three baskets); lt-3 itself was never bought.
    for i, (laptop, headphones) in enumerate(
        [("lt-1", "hp-2"), ("lt-1", "hp-2"), ("lt-2", "hp-4")]
    ):
        buyer = ShopperFactory(external_id=f"laptop-buyer-{i}")
        events(
            buyer,
            serving_store,
            [(laptop, "purchase"), (headphones, "purchase")],
            session=f"laptop-basket-{i}",
            start=T0 + timedelta(days=2, hours=i),
        )
    services.aggregates_refresh()
    fresh = storefront.get("/api/v1/products/lt-3/bought-together", {"size": 4}).json()
    assert fresh["results"], "a product with no baskets of its own still gets complements"
    assert {r["product"]["category"]["id"] for r in fresh["results"]} == {"headphones"}
    assert ids(fresh)[:2] == ["hp-2", "hp-4"]  # trending order within headphones
    first = fresh["results"][0]["explanation"]
    assert first["source"] == "complementary"
    assert first["personalisation"] == "often bought with Laptops"
    # Product-level pairs come first, then complements, never the same product twice.
    known = storefront.get("/api/v1/products/lt-1/bought-together", {"size": 4}).json()
    assert ids(known)[0] == "hp-2" and known["results"][0]["explanation"]["source"] == (
        "bought_together"
    )
    assert "hp-4" in ids(known) and len(ids(known)) == len(set(ids(known)))
    assert all(r["explanation"]["source"] == "complementary" for r in known["results"][1:])
    # Filters hold for the complements too; a category with no complements stays empty.
    running = storefront.get(
        "/api/v1/products/lt-3/bought-together", {"category": "running"}
    ).json()
    assert running["results"] == []
    assert storefront.get("/api/v1/products/tv-2/bought-together").json()["results"] == []


def test_autocomplete_from_queries_categories_and_titles(storefront, serving_store):
    for _ in range(3):
        SearchLogFactory(query="espresso beans", normalised_query="espresso beans", result_count=4)
    services.aggregates_refresh()
    body = storefront.get("/api/v1/autocomplete", {"q": "Esp"}).json()
    kinds = {(s["kind"], s["text"]) for s in body["suggestions"]}
    assert ("query", "espresso beans") in kinds
    assert ("product", "Brewhaus espresso machine with milk frother") in kinds
    product = next(s for s in body["suggestions"] if s["kind"] == "product")
    assert product["id"] == "kt-1"
    body = storefront.get("/api/v1/autocomplete", {"q": "coff"}).json()
    assert {"text": "Coffee", "kind": "category", "id": "coffee"} in body["suggestions"]
    assert storefront.get("/api/v1/autocomplete", {"q": "🙂"}).json() == {"suggestions": []}


def test_context_product_and_mmr_diversity(storefront, serving_store, popular):
    body = storefront.get("/api/v1/recommendations", {"context_product": "sh-1", "size": 3}).json()
    assert "sh-1" not in ids(body)
    assert body["results"][0]["product"]["category"]["id"] == "running"
    assert body["results"][0]["explanation"]["retrievers"]["context"]
    strategy = Strategy.objects.get(surface="similar", is_default=True)
    strategy.diversity, strategy.semantic_min_score = "none", -1.0  # every product is a candidate
    strategy.save()
    candidates = ids(storefront.get("/api/v1/products/hp-1/similar", {"size": 50}).json())
    assert len(candidates) >= 6
    strategy.diversity, strategy.mmr_lambda = "mmr", 0.0  # diversity only
    strategy.save()
    diverse = storefront.get("/api/v1/products/hp-1/similar", {"size": 4}).json()
    # With lambda 0 MMR keeps the most similar product, then each time takes the candidate least
    # like those already taken: farthest-first over the stored vectors, computed here.
    unit = {}
    for row in ProductEmbedding.objects.filter(
        model_version=serving_store.retriever, product__external_id__in=candidates
    ).select_related("product"):
        vector = np.asarray(row.vector, dtype=np.float64)
        unit[row.product.external_id] = vector / np.linalg.norm(vector)
    expected, left = [candidates[0]], candidates[1:]
    while len(expected) < 4:
        pick = min(left, key=lambda pid: max(float(unit[pid] @ unit[done]) for done in expected))
        expected.append(pick)
        left.remove(pick)
    assert expected != candidates[:4]  # the data tells re-picking from the relevance order
    assert ids(diverse) == expected


def test_intent_from_the_strategys_classifier(storefront, serving_store):
    import numpy as np

    from recommend.serving import loaders
    from tests.factories.training import ModelVersionFactory

    class Classifier:
        labels = ["browse", "buy", "review"]

        def predict_proba(self, texts):
            return np.array([[0.1, 0.8, 0.1] if "buy" in t else [0.7, 0.2, 0.1] for t in texts])

    version = ModelVersionFactory(task="intent", is_active=True, dimension=None, base="")
    loaders._intent_models.put(version.pk, Classifier())
    try:
        body = storefront.get("/api/v1/search", {"q": "buy espresso machine"}).json()
        assert body["intent"] == {
            "label": "buy",
            "score": 0.8,
            "source": "model",
            "version": version.pk,
        }
        # a support question is a label this classifier was never trained on: the rules say it
        body = storefront.get("/api/v1/search", {"q": "where is my espresso order"}).json()
        assert body["intent"]["label"] == "support" and body["intent"]["source"] == "rules"
        assert "was not trained on" in body["intent"]["reason"]
        strategy = Strategy.objects.get(surface="search", is_default=True)
        strategy.use_intent = False
        strategy.save()
        body = storefront.get("/api/v1/search", {"q": "buy espresso machine"}).json()
        assert body["intent"]["label"] is None and body["intent"]["reason"]
    finally:
        loaders._intent_models.clear()
