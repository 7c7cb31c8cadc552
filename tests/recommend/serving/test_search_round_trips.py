"""One search's round trips (issue 19 §2): the candidates' rows and the page's explanation texts
come back with the retrievers' hits (no query of their own), the request reads its generations
once, and a fresh query vector's cache write travels with the cached result's. Same items and
explanations as separate queries for the rows and the texts."""

from __future__ import annotations

import pytest
import redis.client
from django.core.cache import cache as django_cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from recommend import selectors
from recommend.engine.explain import matched_terms
from recommend.engine.text import normalise
from recommend.serving import cache, loaders, retrievers, search

pytestmark = pytest.mark.django_db

QUERIES = ["running shoes", "coffee grinder", "wireless headphones", "laptop 16 inch", "espresso"]


def _search(client, q: str) -> dict:
    response = client.get("/api/v1/search", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


def _comparable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("request_id", "served_at")}


class RoundTrips:
    """Counts the commands sent to the real Redis: one per command, one per pipeline."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[tuple[str, str]] = []
        command, pipeline = redis.client.Redis.execute_command, redis.client.Pipeline.execute

        def execute_command(client, *args, **kwargs):
            self.sent.append((str(args[0]).upper(), " ".join(map(str, args[1:]))[:300]))
            return command(client, *args, **kwargs)

        def execute(pipe, *args, **kwargs):
            names = ",".join(str(c[0][0]).upper() for c in pipe.command_stack)
            self.sent.append(("PIPELINE", names))
            return pipeline(pipe, *args, **kwargs)

        monkeypatch.setattr(redis.client.Redis, "execute_command", execute_command)
        monkeypatch.setattr(redis.client.Pipeline, "execute", execute)


def test_a_search_reads_its_candidates_and_texts_with_the_retrievers_hits(
    storefront, serving_store
):
    _search(storefront, "running shoes")  # the process caches (strategy, tree, filter stats)
    with CaptureQueriesContext(connection) as captured:
        body = _search(storefront, "coffee maker")
    assert body["results"]
    sql = [q["sql"] for q in captured.captured_queries]
    # no query of their own for the rows ...
    assert not [s for s in sql if "FROM catalog_product p LEFT JOIN catalog_brand" in s], sql
    # ... which come with the hits of the lexical and the semantic statements
    with_rows = [s for s in sql if "concat_ws" in s]
    assert len(with_rows) == 2, with_rows
    assert any("websearch_to_tsquery" in s for s in with_rows)
    assert any("<=>" in s for s in with_rows)


def test_a_pinned_product_no_retriever_found_is_read_on_its_own(
    storefront, serving_store, operator_user
):
    from recommend import services
    from recommend.models import Strategy
    from tests.factories.recommend import PinnedResultFactory

    strategy = Strategy.objects.get(surface="search", is_default=True)
    strategy.semantic_weight = 0.0  # lexical only: the pin below matches no query word
    services.strategy_save(strategy=strategy, actor=operator_user, changed=["semantic_weight"])
    pinned = serving_store.products["hp-4"]
    PinnedResultFactory(query="coffee", product=pinned, position=1)
    django_cache.clear()
    with CaptureQueriesContext(connection) as captured:
        body = _search(storefront, "coffee")
    assert body["results"][0]["product"]["id"] == "hp-4"
    assert body["results"][0]["product"]["title"] == pinned.title
    assert len(body["results"]) > 1  # the lexical hits, with their rows, follow
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if "FROM catalog_product p LEFT JOIN catalog_brand" in q["sql"]
    ]
    assert len(reads) == 1, reads  # the pin's row alone


def test_the_merged_read_serves_the_same_bodies_as_separate_text_queries(
    storefront, serving_store, monkeypatch
):
    merged = {}
    for q in QUERIES:
        merged[q] = _comparable(_search(storefront, q))
    assert any(r["explanation"]["matched_terms"] for b in merged.values() for r in b["results"])

    original = retrievers.product_rows

    def rows_then_texts(ids, filters=None, *, with_text=False):
        """Before: the rows without text, the page's texts from a query of their own."""
        rows = original(ids, filters)
        texts = retrievers.product_texts(list(rows))
        return {
            pk: row.__class__(**{**row.__dict__, "text": texts[pk]}) for pk, row in rows.items()
        }

    # the retrievers return no rows: every candidate's row is read by the function above
    lexical, semantic = (
        retrievers.PostgresLexicalIndex.search_split_rows,
        retrievers.PgVectorIndex.search_planned,
    )
    monkeypatch.setattr(
        retrievers.PostgresLexicalIndex,
        "search_split_rows",
        lambda self, *a, **kw: lexical(self, *a, **{**kw, "with_rows": False}),
    )
    monkeypatch.setattr(
        retrievers.PgVectorIndex,
        "search_planned",
        lambda self, *a, **kw: semantic(self, *a, **{**kw, "with_rows": False}),
    )
    monkeypatch.setattr(search, "product_rows", rows_then_texts)
    django_cache.clear()  # no cached results, no cached query vectors
    for q in QUERIES:
        assert _comparable(_search(storefront, q)) == merged[q], q


def test_explanations_match_in_the_products_full_text(storefront, serving_store):
    retriever = selectors.served_models(selectors.default_strategy("search")).retriever
    for q in QUERIES:
        body = _search(storefront, q)
        pks = dict(
            Product.objects.filter(
                external_id__in=[r["product"]["id"] for r in body["results"]]
            ).values_list("external_id", "pk")
        )
        texts = retrievers.product_texts(list(pks.values()))
        prepared = search.prepare_query(
            normalise(q), selectors.serving_config().synonyms, loaders.known_words(retriever)
        )
        for result in body["results"]:
            text = texts[pks[result["product"]["id"]]]
            assert result["explanation"]["matched_terms"] == matched_terms(
                prepared.tokens, text, expansion=prepared.expansion
            )


def test_a_cold_search_reads_generations_once_and_its_caches_in_one_trip_each_way(
    storefront, serving_store, monkeypatch
):
    _search(storefront, "running shoes")
    trips = RoundTrips(monkeypatch)
    _search(storefront, "wireless headphones")  # cold: its result and query vector are new
    # once, in the API key's script (with the key's count and the throttle)
    generation_reads = [s for s in trips.sent if "models-generation" in s[1]]
    assert [name for name, _ in generation_reads] == ["EVALSHA"], trips.sent
    assert not [s for s in trips.sent if s[0] in ("GET", "SET") and ":qvec:" in s[1]], "\n".join(
        map(str, trips.sent)
    )
    assert [s for s in trips.sent if s[0] == "MGET" and ":result:" in s[1] and ":qvec:" in s[1]]
    # the result's and the vector's writes, with the search log's and the served request's rows
    assert ("PIPELINE", "SET,SET,EVALSHA,EVALSHA") in trips.sent
    # API key count with the throttle and the generations, result and vector read, the writes
    # with the logs: 3 (5 before, 8 before that, 11 before that; test_request_round_trips.py).
    assert len(trips.sent) <= 3, trips.sent
    # The deferred vector did land: the same query again is a cached result (no encoding).
    keys = cache.redis_client().keys("aisle:recommend:qvec:*")
    assert len(keys) == 2


def test_deferred_writes_land_with_their_time_to_live(serving_state):
    cache.result_set("abc", {"x": 1}, timeout=60, also=[("aisle:test:deferred", b"v", 30)])
    client = cache.redis_client()
    assert cache.result_get("abc") == {"x": 1}
    assert client.get("aisle:test:deferred") == b"v"
    assert 0 < client.ttl("aisle:test:deferred") <= 30
    assert 30 < client.ttl("aisle:recommend:result:abc") <= 60
    cache.writes_send([("aisle:test:alone", b"w", 10)])
    assert client.get("aisle:test:alone") == b"w"
    cache.writes_send([])


def test_a_vector_read_with_the_result_is_not_encoded_again(
    storefront, serving_store, hashing_encoder, monkeypatch
):
    encoded: list[str] = []

    def encode(version, text):
        encoded.append(text)
        return hashing_encoder(text)

    monkeypatch.setattr(loaders, "encode_query", encode)
    first = _search(storefront, "coffee grinder")
    assert len(encoded) == 1
    for key in cache.redis_client().keys("aisle:recommend:result:*"):
        cache.redis_client().delete(key)  # the result expired; the query's vector did not
    again = _search(storefront, "coffee grinder")
    assert len(encoded) == 1
    assert _comparable(again)["results"] == _comparable(first)["results"]
