"""Semantic retrieval over the per-version HNSW index: index use, filtered planning, the exact
scan for selective filters (a category holding 1% of the products) and the fallback."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection, transaction

from catalog.models import Product
from recommend.engine import retrieval
from recommend.serving import retrievers
from recommend.serving.retrievers import PgVectorIndex, filter_stats, vector_literal
from tests.factories.recommend import HashingEncoder, build_serving_store

pytestmark = pytest.mark.django_db

N_FILLER = 990
N_RARE = 10  # 1% of the 1,000 filler + rare products (plus the 16 named ones)


@pytest.fixture
def big_store(serving_state, hashing_encoder):
    store = build_serving_store(filler=N_FILLER, rare_category=N_RARE)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
        cursor.execute("ANALYZE training_productembedding")
    return store


def _explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_unfiltered_query_walks_the_versions_hnsw_index(big_store, monkeypatch):
    index = PgVectorIndex(big_store.retriever.pk, 384)
    literal = vector_literal(HashingEncoder()("blue lamp"))
    plan = _explain(
        f"SELECT e.product_id FROM training_productembedding e JOIN catalog_product p ON p.id = e.product_id "
        f"WHERE e.model_version_id = {index.version_id} AND p.active "
        f"ORDER BY {index._expr} <=> %s::vector LIMIT 10",
        [literal],
    )
    assert f"training_pe_hnsw_v{index.version_id}" in plan
    outcome = index.search_planned(HashingEncoder()("blue lamp"), 10, None)
    # Unfiltered, nothing can starve the graph: HNSW even where the engine would scan exactly.
    assert outcome.plan.method == "hnsw" and len(outcome.results) == 10
    assert outcome.results[0][1] >= outcome.results[-1][1]
    exact, _rows = index._exact(literal, retrieval.SemanticPlan("exact", 10, None, 1016), None)
    # Approximate: never better than the exact answer. (Recall itself is pgvector's business;
    # on these tightly clustered synthetic vectors a graph occasionally misses a cluster.)
    assert outcome.results[0][1] <= exact[0][1] + 1e-6
    monkeypatch.setattr(retrievers, "UNFILTERED_EXACT_MAX_ROWS", 5000)
    assert index.search_planned(HashingEncoder()("blue lamp"), 10, None).plan.method == "exact"


def test_selective_category_filter_scans_exactly_and_finds_every_row(big_store):
    rare_ids = set(
        Product.objects.filter(category__external_id="rare").values_list("pk", flat=True)
    )
    assert len(rare_ids) == N_RARE
    stats = filter_stats()
    filters = {"category_id": {big_store.categories["rare"].pk}}
    assert stats.rows(filters) == N_RARE
    index = PgVectorIndex(big_store.retriever.pk, 384)
    query = HashingEncoder()("green chair")
    outcome = index.search_planned(query, 50, filters)
    assert outcome.plan.method == "exact"
    assert {pk for pk, _ in outcome.results} == rare_ids  # all of them, ordered by similarity
    sims = [s for _, s in outcome.results]
    assert sims == sorted(sims, reverse=True)
    # The same query over the bare HNSW walk is starved: the graph's ef_search nearest
    # neighbours hold few rare products (pgvector 0.6 filters after the walk).
    # (enable_sort off: make the planner walk the graph, as it does on a large catalogue.)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        starved, _rows = index._hnsw(
            vector_literal(query), retrieval.SemanticPlan("hnsw", 50, 40, N_RARE), filters
        )
    assert len(starved) < N_RARE


def test_a_mid_selectivity_filter_over_fetches_with_a_raised_ef_search(big_store, monkeypatch):
    # Pretend the catalogue is large so the planner does not scan 2,000 rows exactly.
    monkeypatch.setattr(retrieval, "EXACT_SCAN_MAX_ROWS", 100)
    stats = filter_stats()
    filters = {"category_id": {big_store.categories["misc"].pk}}
    rows = stats.rows(filters)
    plan = retrieval.plan_semantic_search(10, rows / stats.total, stats.total)
    assert plan.method == "hnsw" and plan.limit == 20 and plan.ef_search >= 40
    outcome = PgVectorIndex(big_store.retriever.pk, 384).search_planned(
        HashingEncoder()("desk lamp"), 10, filters
    )
    assert outcome.plan.method == "hnsw" and len(outcome.results) == 10
    misc = set(Product.objects.filter(category__external_id="misc").values_list("pk", flat=True))
    assert {pk for pk, _ in outcome.results} <= misc


def test_short_hnsw_walk_falls_back_to_an_exact_scan(big_store, monkeypatch):
    # Statistics that overestimate the filter (say, stale ones) make the planner choose HNSW;
    # the walk comes back short and the exact scan answers instead.
    monkeypatch.setattr(retrieval, "EXACT_SCAN_MAX_ROWS", 5)
    filters = {"category_id": {big_store.categories["rare"].pk}}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # walk the graph, as on a large catalogue
        outcome = PgVectorIndex(big_store.retriever.pk, 384).search_planned(
            HashingEncoder()("green chair"), 8, filters, total=1016, expected_rows=500
        )
    assert outcome.fallback and outcome.plan.method == "exact"
    assert len(outcome.results) == 8


def test_search_api_in_a_one_percent_category_returns_its_products(storefront, big_store):
    response = storefront.get("/api/v1/search", {"q": "item", "category": "rare", "size": 50})
    assert response.status_code == 200
    body = response.json()
    assert 'semantic_plan;desc="exact"' in response["Server-Timing"]
    found = {
        r["product"]["id"] for r in body["results"] if r["explanation"]["retrievers"]["semantic"]
    }
    assert len(found) == N_RARE
    assert all(r["product"]["category"]["id"] == "rare" for r in body["results"])


def test_similarities_match_numpy(big_store):
    index = PgVectorIndex(big_store.retriever.pk, 384)
    pks = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:5])
    stored = index.vectors(pks)
    query = HashingEncoder()("storage box")
    sims = index.similarities(pks, [query])[0]
    for pk in pks:
        expected = float(stored[pk] @ query / (np.linalg.norm(stored[pk]) * np.linalg.norm(query)))
        assert sims[pk] == pytest.approx(expected, abs=1e-5)
