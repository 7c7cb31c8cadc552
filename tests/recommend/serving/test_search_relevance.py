"""On the demo store's held-out relevance truth, hybrid search beats lexical-only and
semantic-only (NDCG@10), with the packaged MiniLM (the same evaluation as ``bench/relevance.py``)."""

from __future__ import annotations

import pytest

from bench.relevance import BM25, evaluate
from catalog.demo import generate_store

pytestmark = pytest.mark.django_db


def test_bm25_ranks_by_term_rarity_and_frequency():
    bm25 = BM25([1, 2, 3], ["red shoes", "red red shoes shoes", "blue hat"])
    assert bm25.search("shoes", 3) == [2, 1]
    assert bm25.search("hat", 3) == [3]
    assert bm25.search("purple", 3) == []


@pytest.mark.slow  # encodes a 400-product store with the packaged MiniLM
def test_hybrid_beats_lexical_and_semantic_on_held_out_truth(serving_state):
    store = generate_store(products=400, shoppers=10, days=3, seed=11)
    result = evaluate(store.truth.relevance)
    scores = result["all"]
    assert result["queries"] >= 50 and result["test_queries"] == result["queries"] // 2
    assert scores["hybrid (default)"] > scores["lexical only (BM25)"]
    assert scores["hybrid (default)"] > scores["semantic only"]
    assert scores["hybrid + ranker"] is None  # no ranker artifact given
