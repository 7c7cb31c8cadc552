"""GET /api/v1/search: the hybrid pipeline end to end through the API."""

from __future__ import annotations

import pytest

from catalog.models import SearchLog
from recommend import services
from recommend.serving import cache
from tests.factories.catalog import ProductFactory
from tests.factories.recommend import BoostRuleFactory, PinnedResultFactory, SynonymSetFactory

pytestmark = pytest.mark.django_db


def ids(body) -> list[str]:
    return [r["product"]["id"] for r in body["results"]]


def test_search_returns_hybrid_results_with_explanations_and_facets(storefront, serving_store):
    response = storefront.get("/api/v1/search", {"q": "running shoes"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "running shoes"
    assert body["corrected_query"] is None
    assert body["variant"] is None
    assert len(body["request_id"]) == 32
    assert response["X-Request-ID"] == body["request_id"]
    assert set(ids(body)[:2]) == {"sh-1", "sh-2"}
    top = body["results"][0]
    assert top["product"]["category"] == {"id": "running", "name": "Running"}
    assert top["product"]["brand"] == "Stridex"
    explanation = top["explanation"]
    assert explanation["retrievers"]["lexical"]["rank"] >= 1
    assert explanation["retrievers"]["semantic"]["score"] > 0.2
    assert explanation["matched_terms"] == ["running", "shoes"]  # both query words, as typed
    assert explanation["ranker"] is None  # no ranker version is active
    assert body["intent"] == {
        "label": None,
        "reason": "no intent classifier is active for this strategy",
    }
    assert body["total"] == len(body["results"]) <= 10
    categories = {f["id"]: f["count"] for f in body["facets"]["category"]}
    assert categories["running"] >= 2
    assert sum(b["count"] for b in body["facets"]["brand"]) == body["total"]
    assert sum(p["count"] for p in body["facets"]["price"]) == body["total"]
    for stage in ("lexical", "encode", "semantic", "fusion", "rank", "total"):
        assert f"{stage};dur=" in response["Server-Timing"]


def test_filters_category_subtree_brand_price_and_stock(storefront, serving_store):
    body = storefront.get(
        "/api/v1/search", {"q": "headphones laptop", "category": "electronics"}
    ).json()
    assert body["results"] and all(
        r["product"]["category"]["id"] in {"headphones", "laptops", "tv"} for r in body["results"]
    )
    body = storefront.get("/api/v1/search", {"q": "headphones", "brand": "voltic"}).json()
    assert ids(body) == ["hp-1"]  # hp-3 (Voltic) is out of stock: hidden by the default strategy
    body = storefront.get(
        "/api/v1/search", {"q": "laptop", "price_min": 100, "price_max": 1000}
    ).json()
    assert ids(body) == ["lt-1"]
    body = storefront.get("/api/v1/search", {"q": "headphones", "brand": "No Such Brand"}).json()
    assert body["total"] == 0 and body["results"] == []


def test_typo_correction_uses_the_catalogue_vocabulary(storefront, serving_store):
    body = storefront.get("/api/v1/search", {"q": "espreso machine"}).json()
    assert body["corrected_query"] == "espresso machine"
    assert ids(body)[0] == "kt-1"


def test_a_word_the_full_text_index_matches_is_not_corrected(storefront, serving_store):
    """ "womens" is no catalogue token ("women's" is), but the index stems both to "women": the
    query stays as typed and finds the jacket; a real typo beside it is still corrected."""
    ProductFactory(external_id="wj-1", title="Northloom women's denim jacket")
    body = storefront.get("/api/v1/search", {"q": "womens denim jacket"}).json()
    assert body["corrected_query"] is None and "wj-1" in ids(body)
    body = storefront.get("/api/v1/search", {"q": "womens denim jackett"}).json()
    assert body["corrected_query"] == "womens denim jacket" and "wj-1" in ids(body)


def test_a_real_word_no_product_holds_is_not_corrected_to_a_catalogue_word(
    storefront, serving_store
):
    """ "pamper" matches nothing and the tokenizer splits it, so it was "corrected" to "paper"
    (one deletion away), and the paper product led a query about a relaxing evening."""
    ProductFactory(external_id="pp-1", title="Recycled paper notebook")
    ProductFactory(external_id="bs-1", title="Lavender bath salts for a relaxing evening")
    body = storefront.get("/api/v1/search", {"q": "relaxing pamper evening"}).json()
    assert body["corrected_query"] is None
    assert ids(body)[0] == "bs-1"


def test_synonyms_widen_the_lexical_query(storefront, serving_store):
    before = storefront.get("/api/v1/search", {"q": "telly"}).json()
    assert before["total"] == 0
    SynonymSetFactory(terms="tv, television, telly")
    after = storefront.get("/api/v1/search", {"q": "telly"}).json()
    assert set(ids(after)) >= {"tv-1", "tv-2"}
    assert any(
        "television" in r["explanation"]["matched_terms"]
        or "tv" in r["explanation"]["matched_terms"]
        for r in after["results"]
    )


def test_pins_boosts_and_out_of_stock(storefront, serving_store):
    PinnedResultFactory(query="Headphones", product=serving_store.products["hp-4"], position=1)
    BoostRuleFactory(name="push auralis", brand=serving_store.brands["Auralis"], factor=5.0)
    body = storefront.get("/api/v1/search", {"q": "headphones"}).json()
    assert ids(body)[0] == "hp-4"
    assert body["results"][0]["explanation"]["rules"][-1]["kind"] == "pin"
    assert ids(body)[1] == "hp-2"
    assert any(rule["kind"] == "boost" for rule in body["results"][1]["explanation"]["rules"])
    assert "hp-3" not in ids(body)  # out of stock
    only_out = storefront.get("/api/v1/search", {"q": "earbuds", "in_stock": "false"}).json()
    assert only_out["total"] == 0  # the strategy hides out-of-stock products whatever the filter


def test_pagination_keeps_total(storefront, serving_store):
    first = storefront.get("/api/v1/search", {"q": "headphones laptop coffee", "size": 2}).json()
    second = storefront.get(
        "/api/v1/search", {"q": "headphones laptop coffee", "size": 2, "page": 2}
    ).json()
    assert first["total"] == second["total"] > 4
    assert len(first["results"]) == len(second["results"]) == 2
    assert not set(ids(first)) & set(ids(second))
    far = storefront.get(
        "/api/v1/search", {"q": "headphones laptop coffee", "size": 2, "page": 50}
    ).json()
    assert far["results"] == [] and far["total"] == first["total"]


def test_every_search_is_logged_through_the_buffer(storefront, serving_store):
    body = storefront.get(
        "/api/v1/search", {"q": "Coffee grinder", "shopper": "new-person", "session": "s1"}
    ).json()
    storefront.get("/api/v1/search", {"q": "zzzqqq"})
    assert cache.searchlog_pending() == 2
    assert services.searchlogs_flush() == 2
    logged = SearchLog.objects.get(request_id=body["request_id"])
    assert logged.query == "Coffee grinder" and logged.normalised_query == "coffee grinder"
    assert logged.shown_products == ids(body)
    assert logged.result_count == body["total"]
    assert logged.strategy == "default-search" and logged.session == "s1"
    assert logged.latency_ms > 0
    assert SearchLog.objects.get(query="zzzqqq").result_count == 0


def test_simulated_time_stamps_log_and_response(storefront, serving_store, read_client):
    response = storefront.get(
        "/api/v1/search", {"q": "kettle"}, HTTP_X_AISLE_SIMULATED_TIME="2030-01-02T03:04:05Z"
    )
    assert response.status_code == 200
    assert response.json()["served_at"].startswith("2030-01-02T03:04:05")
    services.searchlogs_flush()
    assert SearchLog.objects.get(request_id=response.json()["request_id"]).timestamp.year == 2030
    denied = read_client.get(
        "/api/v1/search", {"q": "kettle"}, HTTP_X_AISLE_SIMULATED_TIME="2030-01-02T03:04:05Z"
    )
    assert denied.status_code == 403 and "simulate" in denied.json()["error"]["message"]
    bad = storefront.get("/api/v1/search", {"q": "kettle"}, HTTP_X_AISLE_SIMULATED_TIME="yesterday")
    assert bad.status_code == 400


def test_results_are_cached_and_promotion_invalidates(
    storefront, serving_store, operator_user, django_capture_on_commit_callbacks
):
    from catalog.models import Product
    from tests.factories.recommend import HashingEncoder, write_vectors
    from tests.factories.training import ModelVersionFactory
    from training.services import model_promote

    first = storefront.get("/api/v1/search", {"q": "espresso"})
    second = storefront.get("/api/v1/search", {"q": "espresso"})
    assert (
        'cache;desc="hit"' not in first["Server-Timing"]
        and 'cache;desc="hit"' in second["Server-Timing"]
    )
    assert ids(first.json()) == ids(second.json())
    assert first.json()["request_id"] != second.json()["request_id"]
    # A new retriever whose vectors put every product next to "espresso" ...
    newer = ModelVersionFactory(task="retriever", dimension=384, name="newer retriever")
    pks = list(Product.objects.values_list("pk", flat=True))
    write_vectors(newer.pk, pks, HashingEncoder().many(["espresso"] * len(pks)))
    with django_capture_on_commit_callbacks(execute=True):
        model_promote(
            version=newer, user=operator_user
        )  # bumps serving:models-generation on commit
    third = storefront.get("/api/v1/search", {"q": "espresso"})
    assert 'cache;desc="hit"' not in third["Server-Timing"]
    semantic_found = [
        r for r in third.json()["results"] if r["explanation"]["retrievers"]["semantic"]
    ]
    assert len(semantic_found) > len(ids(first.json()))  # ... is served at once


def test_strategy_edit_invalidates_cached_results(storefront, serving_store, operator_user):
    from recommend.models import Strategy

    storefront.get("/api/v1/search", {"q": "coffee"})
    assert 'cache;desc="hit"' in storefront.get("/api/v1/search", {"q": "coffee"})["Server-Timing"]
    strategy = Strategy.objects.get(surface="search", is_default=True)
    strategy.semantic_weight = 0.0
    services.strategy_save(strategy=strategy, actor=operator_user, changed=["semantic_weight"])
    response = storefront.get("/api/v1/search", {"q": "coffee"})
    assert 'cache;desc="hit"' not in response["Server-Timing"]
    results = response.json()["results"]
    assert results and all(r["explanation"]["retrievers"]["semantic"] is None for r in results)
    assert Strategy.objects.get(pk=strategy.pk).version == 2


@pytest.mark.slow  # transaction=True: flushing every table afterwards takes 3 to 8 s here
@pytest.mark.django_db(transaction=True)
def test_lexical_runs_on_a_pool_thread_beside_semantic_when_data_is_committed(
    storefront, serving_state, hashing_encoder, monkeypatch
):
    import threading

    from recommend.serving.retrievers import PostgresLexicalIndex
    from tests.factories.recommend import build_serving_store

    build_serving_store()
    threads = []
    original = PostgresLexicalIndex.search_split_rows

    def spy(self, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PostgresLexicalIndex, "search_split_rows", spy)
    body = storefront.get("/api/v1/search", {"q": "espresso machine"}).json()
    assert threads and threads[0].startswith("recommend-db")
    top = body["results"][0]
    assert top["product"]["id"] == "kt-1"
    assert (
        top["explanation"]["retrievers"]["lexical"] and top["explanation"]["retrievers"]["semantic"]
    )
