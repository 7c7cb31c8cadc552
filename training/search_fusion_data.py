"""Each validation query's retrieved lists, as search retrieves them, for tuning the fusion.

The query goes through the serving pipeline's own preparation (typo correction, synonyms:
``recommend.serving.search.prepare_query``) and its own retrievers (BM25 full and partial
matches, the strategy's retriever over pgvector above its minimum score), to the same depth
serving fetches (100), each list with its scores (BM25, cosine). The semantic side is fetched
whatever the strategy's semantic weight, so a tuning may switch it on. The fusion that follows
is scored offline (``training.ml.search_fusion``); the ranker and merchandising rules are left
out: they act on the fused list, whichever weights made it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from recommend import selectors
from recommend.engine.text import normalise
from recommend.serving import cache, loaders
from recommend.serving.retrievers import PgVectorIndex, PostgresLexicalIndex
from recommend.serving.search import MIN_CANDIDATES, QUERY_MAX_CHARS, prepare_query
from training.ml.search_fusion import QueryLists


def search_query_lists(
    queries: Iterable[str],
    *,
    strategy: selectors.StrategyConfig,
    depth: int = MIN_CANDIDATES,
    on_query: Callable[[int], None] | None = None,
) -> dict[str, QueryLists]:
    """``{query: QueryLists}`` for the strategy's served retriever (lexical only without one)."""
    retriever = selectors.served_models(strategy).retriever
    config = selectors.serving_config()
    known = loaders.known_words(retriever)
    lexical = PostgresLexicalIndex()
    prepared_queries = []
    for n, query in enumerate(queries, start=1):
        normalised = normalise(query, QUERY_MAX_CHARS)
        if normalised:
            prepared_queries.append((n, query, prepare_query(normalised, config.synonyms, known)))
    vectors = {}
    if retriever is not None:
        # every query's vector through the query-vector cache, the missing ones encoded in
        # batches: one at a time cost about 15x more (cache.query_vectors)
        vectors = cache.query_vectors(
            retriever.id,
            sorted({p.semantic_text for _, _, p in prepared_queries}),
            lambda texts: loaders.encode_queries(retriever, texts),
            vector_space=retriever.space_id,
        )
    out: dict[str, QueryLists] = {}
    for n, query, prepared in prepared_queries:
        full, partial = lexical.search_split(prepared.lexical_text, depth)
        semantic: list[tuple[int, float]] = []
        if retriever is not None:
            vector = vectors[prepared.semantic_text]
            index = PgVectorIndex(retriever.space_id, retriever.dimension or int(vector.shape[0]))
            semantic = [
                (pk, score)
                for pk, score in index.search_planned(vector, depth).results
                if score >= strategy.semantic_min_score
            ]
        out[query] = QueryLists(
            lexical=[pk for pk, _ in full],
            partial=[pk for pk, _ in partial],
            semantic=[pk for pk, _ in semantic],
            lexical_scores=[float(s) for _, s in full],
            partial_scores=[float(s) for _, s in partial],
            semantic_scores=[float(s) for _, s in semantic],
        )
        if on_query is not None:
            on_query(n)
    return out
