"""Retrieval protocols, the exact vector index and the semantic search plan."""

import numpy as np
import pytest

from recommend.engine.retrieval import (
    EF_SEARCH_MAX,
    ExactVectorIndex,
    LexicalIndex,
    Range,
    VectorIndex,
    plan_semantic_search,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    categories = [i % 7 for i in range(500)]
    prices = [float(i) for i in range(500)]
    ids = [f"p{i}" for i in range(500)]
    index = ExactVectorIndex(ids, vectors, {"category_id": categories, "price": prices})
    return index, vectors, categories, prices, ids, rng


def brute_force(vectors, query, keep):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    rows = [i for i in np.argsort(-scores, kind="stable") if keep[i]]
    return rows, scores


def test_exact_index_matches_brute_force_with_filters(data):
    index, vectors, categories, prices, ids, rng = data
    query = rng.normal(size=16)
    keep = [c in (2, 3) and 100 <= p <= 400 for c, p in zip(categories, prices, strict=True)]
    rows, scores = brute_force(vectors, query, keep)
    result = index.search(query, 10, {"category_id": [2, 3], "price": Range(100, 400)})
    assert [r[0] for r in result] == [ids[i] for i in rows[:10]]
    assert result[0][1] == pytest.approx(float(scores[rows[0]]), abs=1e-5)
    assert all(a[1] >= b[1] for a, b in zip(result, result[1:], strict=False))


def test_exact_index_equality_filter_and_edge_cases(data):
    index, vectors, *_ = data
    in_category = [i for i, _ in index.search(vectors[4], 20, {"category_id": 4})]
    assert in_category and all(int(i[1:]) % 7 == 4 for i in in_category)
    assert index.search(vectors[4], 1)[0][0] == "p4"  # a vector is its own nearest neighbour
    assert index.search(np.zeros(16), 5) == []
    assert index.search(vectors[0], 0) == []
    assert index.search(vectors[0], 5, {"category_id": 99}) == []
    with pytest.raises(ValueError):
        index.search(np.ones(3), 5)


def test_exact_index_breaks_ties_by_row_order():
    index = ExactVectorIndex(["x", "y", "z"], np.array([[1.0, 0], [2.0, 0], [0, 1.0]]))
    assert [i for i, _ in index.search(np.array([1.0, 0]), 1)] == ["x"]
    assert [i for i, _ in index.search(np.array([1.0, 0]), 2)] == ["x", "y"]


def test_protocols_are_structural(data):
    index = data[0]
    assert isinstance(index, VectorIndex)

    class FakeLexical:
        def search(self, query_text, k, filters=None):
            return [("p1", 1.0)][:k]

    assert isinstance(FakeLexical(), LexicalIndex)


def test_plan_unfiltered_uses_hnsw_with_default_ef():
    plan = plan_semantic_search(10, 1.0, 100_000)
    assert (plan.method, plan.limit, plan.ef_search) == ("hnsw", 10, 40)
    assert plan_semantic_search(200, 1.0, 100_000).ef_search == 200


def test_plan_moderate_filter_overfetches_and_raises_ef():
    plan = plan_semantic_search(10, 0.1, 100_000)
    assert (plan.method, plan.limit, plan.ef_search) == ("hnsw", 20, 400)
    wider = plan_semantic_search(10, 0.5, 100_000)
    assert wider.ef_search == 80 < plan.ef_search


def test_plan_selective_filters_and_small_catalogues_scan_exactly():
    assert plan_semantic_search(10, 0.01, 10_000_000).method == "exact"  # under 2%
    assert plan_semantic_search(10, 0.5, 8_000).method == "exact"  # few rows left
    assert plan_semantic_search(10, 1.0, 3_000).method == "exact"  # small catalogue
    needs_huge_ef = plan_semantic_search(100, 0.1, 1_000_000)
    assert needs_huge_ef.method == "exact" and needs_huge_ef.ef_search is None
    # ef_search = 2 * limit / selectivity: 1000 is pgvector's cap, one more goes exact
    assert plan_semantic_search(25, 0.1, 1_000_000).ef_search == EF_SEARCH_MAX
    assert plan_semantic_search(26, 0.1, 1_000_000).method == "exact"


def test_plan_validates_arguments():
    for args in ((0, 1.0, 10), (10, 1.5, 10), (10, 0.5, -1)):
        with pytest.raises(ValueError):
            plan_semantic_search(*args)
