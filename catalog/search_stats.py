"""BM25's term and corpus statistics over the active products' full-text vectors.

Triggers on ``catalog_product`` keep :class:`catalog.models.SearchTermStat`,
:class:`catalog.models.SearchExactTermStat` (the unstemmed vectors') and
:class:`catalog.models.SearchCorpusStat` current inside every write's own transaction
(migrations ``catalog/0006_search_term_stats`` and ``0008_search_vector_exact``). Here: the from-scratch computation (what the
migration filled them with), a rebuild that replaces the stored rows by it, and a check that
says how far the stored rows are from it (there should be no difference: the check is what the
tests and an operator in doubt run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction

from catalog.models import SEARCH_CONFIG

CORPUS_TABLE = "catalog_searchcorpusstat"
TERM_TABLE = "catalog_searchtermstat"
EXACT_TERM_TABLE = "catalog_searchexacttermstat"


@dataclass(frozen=True)
class SearchStats:
    """Active products, the sum of their distinct lexemes, and each lexeme's document count;
    the same of the unstemmed vectors (``exact_*``)."""

    documents: int
    lexemes: int
    terms: dict[str, int] = field(default_factory=dict)
    exact_lexemes: int = 0
    exact_terms: dict[str, int] = field(default_factory=dict)

    @property
    def average_length(self) -> float:
        return self.lexemes / self.documents if self.documents else 0.0


def search_stats_computed() -> SearchStats:
    """The statistics computed from the products themselves (PostgreSQL's ``ts_stat``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(length(search_vector)), 0), "
            "coalesce(sum(length(search_vector_exact)), 0) FROM catalog_product WHERE active"
        )
        documents, lexemes, exact_lexemes = cursor.fetchone()
        cursor.execute(
            "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM catalog_product WHERE active')"
        )
        terms = dict(cursor.fetchall())
        cursor.execute(
            "SELECT word, ndoc FROM "
            "ts_stat('SELECT search_vector_exact FROM catalog_product WHERE active')"
        )
        exact_terms = dict(cursor.fetchall())
    return SearchStats(int(documents), int(lexemes), terms, int(exact_lexemes), exact_terms)


def search_stats_stored() -> SearchStats:
    """The statistics the triggers maintain (lexemes no active product holds left out)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT documents, lexemes, exact_lexemes FROM {CORPUS_TABLE} WHERE id = 1")
        row = cursor.fetchone() or (0, 0, 0)
        cursor.execute(f"SELECT lexeme, documents FROM {TERM_TABLE} WHERE documents <> 0")
        terms = dict(cursor.fetchall())
        cursor.execute(f"SELECT lexeme, documents FROM {EXACT_TERM_TABLE} WHERE documents <> 0")
        exact_terms = dict(cursor.fetchall())
    return SearchStats(int(row[0]), int(row[1]), terms, int(row[2]), exact_terms)


def search_stats_differences(limit: int = 20) -> list[str]:
    """Where the stored statistics differ from the products' (empty when they agree)."""
    stored, computed = search_stats_stored(), search_stats_computed()
    out = []
    corpus = ("documents", "lexemes", "exact_lexemes")
    if [getattr(stored, n) for n in corpus] != [getattr(computed, n) for n in corpus]:
        out.append(
            f"corpus: stored {stored.documents} products / {stored.lexemes} lexemes / "
            f"{stored.exact_lexemes} exact, computed {computed.documents} / {computed.lexemes} / "
            f"{computed.exact_lexemes}"
        )
    for label, have, want in (
        ("", stored.terms, computed.terms),
        ("exact ", stored.exact_terms, computed.exact_terms),
    ):
        for word in sorted(set(have) | set(want)):
            if have.get(word, 0) != want.get(word, 0):
                out.append(
                    f"{label}{word!r}: stored {have.get(word, 0)}, computed {want.get(word, 0)}"
                )
                if len(out) >= limit:
                    return out
    return out


@transaction.atomic
def search_stats_rebuild() -> SearchStats:
    """Replace the stored statistics by the computed ones (and drop lexemes no active product
    holds any more). Takes the corpus row's lock, as the triggers do, so no write interleaves."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CORPUS_TABLE} (id, documents, lexemes) VALUES (1, 0, 0) "
            "ON CONFLICT (id) DO NOTHING"
        )
        cursor.execute(f"SELECT 1 FROM {CORPUS_TABLE} WHERE id = 1 FOR UPDATE")
        cursor.execute(f"DELETE FROM {TERM_TABLE}")
        cursor.execute(f"DELETE FROM {EXACT_TERM_TABLE}")
        cursor.execute(
            f"UPDATE {CORPUS_TABLE} c SET documents = s.n, lexemes = s.l, exact_lexemes = s.e "
            "FROM (SELECT count(*) AS n, coalesce(sum(length(search_vector)), 0) AS l,"
            "  coalesce(sum(length(search_vector_exact)), 0) AS e"
            "  FROM catalog_product WHERE active) s WHERE c.id = 1"
        )
        cursor.execute(
            f"INSERT INTO {TERM_TABLE} (lexeme, documents) SELECT word, ndoc FROM "
            "ts_stat('SELECT search_vector FROM catalog_product WHERE active')"
        )
        cursor.execute(
            f"INSERT INTO {EXACT_TERM_TABLE} (lexeme, documents) SELECT word, ndoc FROM "
            "ts_stat('SELECT search_vector_exact FROM catalog_product WHERE active')"
        )
    return search_stats_stored()


def indexed_words(words: Sequence[str]) -> set[str]:
    """The words whose full-text lexemes (as ``to_tsvector`` makes them: stemmed, stop words
    out) at least one active product holds: what the typo corrector must leave as typed."""
    if not words:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w FROM unnest(%s::text[]) AS w WHERE EXISTS ("
            f"  SELECT 1 FROM unnest(tsvector_to_array(to_tsvector(%s::regconfig, w))) AS t(lexeme)"
            f"  JOIN {TERM_TABLE} s ON s.lexeme = t.lexeme WHERE s.documents > 0)",
            [list(words), SEARCH_CONFIG],
        )
        return {row[0] for row in cursor.fetchall()}
