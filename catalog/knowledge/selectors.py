"""Reads of the knowledge base: the two retrievers over passages (BM25 over the full-text
column, cosine over one retriever version's vectors), passage rows, and vector coverage.

The knowledge base is small next to a catalogue (hundreds to a few thousand passages), so BM25's
corpus statistics are computed per query from the GIN index (document frequency of the query's
own lexemes) instead of being kept in a statistics table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef

from catalog.knowledge.models import AnswerSummary, Passage, PassageEmbedding
from catalog.segmentation import segment
from platform_core.bound_sql import VectorParam, bound_cursor, use_ef_search

PASSAGES = Passage._meta.db_table
EMBEDDINGS = PassageEmbedding._meta.db_table
BM25_K1 = 1.2
BM25_B = 0.75
#: ``hnsw.ef_search`` of a walk over the passages' vectors: pgvector's default, what it was
#: before each walk stated its own (a connection's setting is the last walk's).
PASSAGE_EF_SEARCH = 40


def passages_bm25(query_text: str, limit: int) -> list[tuple[int, float]]:
    """Okapi BM25 of the passages matching any of the query's words, best first:
    ``[(passage id, score)]``. The query's lexemes are what ``to_tsvector('english')`` makes
    of it (stop words fall out) after its unspaced runs are segmented as the passages' were
    (CJK words pass through the English configuration unchanged, as they are indexed by the
    ``simple`` one), so it scores what the full-text index can match."""
    if limit <= 0 or not query_text.strip():
        return []
    # Chinese/Japanese/Thai runs split into words as the passages' search_text was
    query_text = segment(query_text, language=settings.CATALOG_LANGUAGE)
    k1, b = BM25_K1, BM25_B
    sql = (
        "WITH terms AS MATERIALIZED ("
        "  SELECT DISTINCT t.lexeme FROM unnest(tsvector_to_array(to_tsvector('english', %s)))"
        "  AS t(lexeme)"
        "), stats AS MATERIALIZED ("
        "  SELECT count(*)::float8 AS n, greatest(avg(length(search_vector)), 1)::float8 AS avgdl"
        f"  FROM {PASSAGES}"
        "), idf AS MATERIALIZED ("
        "  SELECT t.lexeme, ln(1 + (s.n - df.c + 0.5) / (df.c + 0.5)) AS idf"
        "  FROM terms t CROSS JOIN stats s CROSS JOIN LATERAL ("
        f"    SELECT count(*)::float8 AS c FROM {PASSAGES} d"
        "    WHERE d.search_vector @@ quote_literal(t.lexeme)::tsquery) df"
        "), candidates AS ("
        f"  SELECT d.id, d.search_vector FROM {PASSAGES} d WHERE d.search_vector @@ ("
        "    SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery FROM terms)"
        ") SELECT m.id, sum(i.idf * u.tf * %s / (u.tf + %s * (%s + %s * length(m.search_vector)"
        "    / (SELECT avgdl FROM stats)))) AS score"
        " FROM candidates m CROSS JOIN LATERAL ("
        "  SELECT lexeme, greatest(cardinality(positions), 1)::float8 AS tf FROM unnest(ts_filter("
        "    setweight(setweight(m.search_vector, 'D'), 'A', (SELECT array_agg(lexeme) FROM terms)),"
        "    '{a}'))) u JOIN idf i ON i.lexeme = u.lexeme"
        " GROUP BY m.id ORDER BY score DESC, m.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [query_text, k1 + 1, k1, 1 - b, b, int(limit)])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def passages_nearest(
    version_id: int, dimension: int, vector: np.ndarray, limit: int
) -> list[tuple[int, float]]:
    """The ``limit`` passages nearest ``vector`` under a retriever version: ``[(passage id,
    cosine)]``, best first (the version's HNSW index when it has one)."""
    if limit <= 0:
        return []
    expr = f"(e.vector::vector({int(dimension)}))"  # the index expression, exactly
    sql = (
        f"SELECT e.passage_id, 1 - ({expr} <=> %s::vector) FROM {EMBEDDINGS} e "
        f"WHERE e.model_version_id = {int(version_id)} "
        f"ORDER BY {expr} <=> %s::vector LIMIT {int(limit)}"
    )
    query = VectorParam(vector)
    with bound_cursor() as cursor:
        use_ef_search(cursor, PASSAGE_EF_SEARCH)
        cursor.execute(sql, [query, query])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


@dataclass(frozen=True)
class PassageRow:
    """What an answer shows of a passage and its source."""

    id: int
    heading: str
    text: str
    category: str
    source_type: str  # "article" or "product_question"
    source_id: str  # the source's external id
    source_title: str
    source: str  # the source's own "source" field (URL, file, team)
    kind: str  # article / faq / policy, or "product_qa"
    product: str | None  # the product's external id for a product Q&A


def passage_rows(ids: Sequence[int]) -> dict[int, PassageRow]:
    """Passage rows by id (one query)."""
    out: dict[int, PassageRow] = {}
    qs = Passage.objects.filter(pk__in=list(ids)).select_related(
        "article", "product_question__product"
    )
    for p in qs:
        if p.article_id:
            a = p.article
            out[p.pk] = PassageRow(
                p.pk,
                p.heading,
                p.text,
                p.category,
                "article",
                a.external_id,
                a.title,
                a.source,
                a.kind,
                None,
            )
        else:
            q = p.product_question
            out[p.pk] = PassageRow(
                p.pk,
                p.heading,
                p.text,
                p.category,
                "product_question",
                q.external_id,
                q.question,
                q.source,
                "product_qa",
                q.product.external_id,
            )
    return out


def passage_count() -> int:
    return Passage.objects.count()


def missing_passage_vector_count(version_id: int) -> int:
    """Passages with no vector (or a vector of other text) under a retriever version."""
    current = PassageEmbedding.objects.filter(
        passage=OuterRef("pk"), model_version_id=version_id, text_hash=OuterRef("text_hash")
    )
    return Passage.objects.exclude(Exists(current)).count()


def precomputed_summary(
    query: str, retriever_id: int | None, generator: str, passage_ids: Sequence[int]
) -> AnswerSummary | None:
    """The summary written ahead for this normalised question, retriever and generator, when
    it was written from exactly these passages (else None: it would not fit the answers)."""
    row = AnswerSummary.objects.filter(
        query=query, retriever_id=retriever_id, generator=generator
    ).first()
    if row is None or [int(pk) for pk in row.passages] != [int(pk) for pk in passage_ids]:
        return None
    return row
