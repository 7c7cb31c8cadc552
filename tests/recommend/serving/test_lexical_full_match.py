"""A full lexical match holds every query word the catalogue knows: a word no active product
holds ("good", "cheap", a misspelling) no longer turns every hit into a partial match
(``PostgresLexicalIndex(full_match=...)``, ``FULL_MATCH_KNOWN_SQL``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommend.serving.retrievers import PostgresLexicalIndex
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    make = {"description": "", "attributes": {}, "brand": None, "category": None}
    titles = [
        "leather jacket",
        "black leather jacket",
        "leather boots",
        "denim jacket",
        "wool scarf",
        "hidden jacket",
    ]
    products = {title: ProductFactory(title=title, **make) for title in titles}
    products["hidden jacket"].active = False  # its words count for no active product
    products["hidden jacket"].save()
    return products


def ids(hits):
    return {pk for pk, _ in hits}


@pytest.mark.parametrize("scoring", ["bm25f", "bm25", "bm25f_exact", "ts_rank_cd"])
def test_an_unknown_word_leaves_the_others_as_full_matches(catalogue, scoring):
    full, partial = PostgresLexicalIndex(scoring=scoring).search_split("good leather jacket", 10)
    assert ids(full) == {catalogue["leather jacket"].pk, catalogue["black leather jacket"].pk}
    assert ids(partial) == {catalogue["leather boots"].pk, catalogue["denim jacket"].pk}


def test_the_scores_are_those_of_every_word(catalogue):
    """BM25 still sums over every query lexeme: the unknown one adds nothing."""
    index = PostgresLexicalIndex()
    full, _ = index.search_split("good leather jacket", 10)
    assert len(full) == 2
    assert dict(full) == pytest.approx(index.scores("leather jacket", list(ids(full))))
    assert dict(full) == pytest.approx(index.scores("good leather jacket", list(ids(full))))


def test_every_word_keeps_the_old_split(catalogue):
    full, partial = PostgresLexicalIndex(full_match="every_word").search_split(
        "good leather jacket", 10
    )
    assert full == []
    assert ids(partial) == {
        catalogue[t].pk
        for t in ("leather jacket", "black leather jacket", "leather boots", "denim jacket")
    }


def test_a_word_only_an_inactive_product_holds_is_unknown(catalogue):
    full, _ = PostgresLexicalIndex().search_split("hidden leather jacket", 10)
    assert ids(full) == {catalogue["leather jacket"].pk, catalogue["black leather jacket"].pk}


@pytest.mark.parametrize(
    "query", ["good cheap", "zzzq", '"good leather" jacket', "leather jacket -black", "the"]
)
def test_all_unknown_phrase_and_exclusion_queries_split_as_before(catalogue, query):
    """No known word, or websearch operators (a quoted phrase, an exclusion): the tsquery as
    typed."""
    for scoring in ("bm25f", "ts_rank_cd"):
        new = PostgresLexicalIndex(scoring=scoring).search_split(query, 10)
        old = PostgresLexicalIndex(scoring=scoring, full_match="every_word").search_split(query, 10)
        assert new == old, (query, scoring)


def test_a_phrase_with_an_unknown_word_still_needs_it(catalogue):
    full, partial = PostgresLexicalIndex().search_split('"good leather" jacket', 10)
    assert full == []  # no product holds the phrase
    assert catalogue["leather jacket"].pk in ids(partial)


def test_an_exclusion_with_an_unknown_word_still_needs_it(catalogue):
    full, _ = PostgresLexicalIndex().search_split("good leather -boots", 10)
    assert full == []


def test_a_product_holding_the_word_makes_it_known(catalogue):
    index = PostgresLexicalIndex()
    full, _ = index.search_split("suede leather jacket", 10)
    assert ids(full) == {catalogue["leather jacket"].pk, catalogue["black leather jacket"].pk}
    suede = ProductFactory(
        title="suede leather jacket", description="", attributes={}, brand=None, category=None
    )
    full, partial = index.search_split("suede leather jacket", 10)
    assert ids(full) == {suede.pk}  # the triggers counted "suede": now every word is required
    assert catalogue["leather jacket"].pk in ids(partial)
    suede.active = False
    suede.save()
    full, _ = index.search_split("suede leather jacket", 10)
    assert ids(full) == {catalogue["leather jacket"].pk, catalogue["black leather jacket"].pk}


def test_still_one_statement(catalogue):
    index = PostgresLexicalIndex()
    with CaptureQueriesContext(connection) as captured:
        index.search_split("good leather jacket", 10)
    assert len(captured.captured_queries) == 1


def test_full_match_is_checked():
    with pytest.raises(ValueError):
        PostgresLexicalIndex(full_match="some_words")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("good leather jacket", "'leather' & 'jacket'"),
        # the synonym expansion's variants are OR groups: each loses its unknown words
        ("good jacket or cheap boots", "'jacket' | 'boot'"),
        ("zzzq cheap or leather", "'zzzq' & 'cheap' | 'leather'"),
        ("good cheap", "'good' & 'cheap'"),
        ('"good leather" jacket', "'good' <-> 'leather' & 'jacket'"),
        ("good leather -boots", "'good' & 'leather' & !'boot'"),
        ("good t-shirt", "'good' & 't-shirt' <2> 'shirt'"),
        ("the", ""),
    ],
)
def test_the_full_match_tsquery(catalogue, query, expected):
    from recommend.serving.retrievers import FULL_MATCH_KNOWN_SQL

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {FULL_MATCH_KNOWN_SQL}::text", [query])
        assert cursor.fetchone()[0] == expected
