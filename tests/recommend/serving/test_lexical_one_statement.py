"""The lexical stage is one SQL statement (issue 19 §2): full matches, the rarest-terms bound and
the partial matches, with the same products and scores as the three statements it replaced
(rebuilt here from the retriever's own pieces: ``_query`` and ``_rarest_terms``)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.segmentation import segment
from recommend.serving.retrievers import (
    ANY_TERM_SQL,
    FULL_MATCHES,
    OR_FALLBACK_BELOW,
    PostgresLexicalIndex,
)
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

QUERIES = [
    "red kettle",
    "kettle",
    "teapot electric",
    "tinytales bunny toy",
    "tinytales bunny -plush",
    "bunny -toy",
    '"wooden toy" red',
    "steel kettle lid spout",
    "zzz unknown words",
    "toy's",
    "O'Brien kettle",
    "tinytales bunny or zzz red kettle",
]


def three_statements(index: PostgresLexicalIndex, query_text: str, k: int, filters=None):
    """The lexical split as it was: full matches; when too few, the rarest terms and then the
    partial matches, each a statement of its own."""
    query_text = segment(query_text, language=settings.CATALOG_LANGUAGE)
    strict = index._query(FULL_MATCHES[index.full_match], query_text, k, filters)
    if len(strict) >= min(k, OR_FALLBACK_BELOW):
        return strict, []
    any_term = ANY_TERM_SQL
    rarest = index._rarest_terms(query_text)
    relaxed = index._query(
        any_term if rarest is None else f"({any_term} && %s::tsquery)",
        query_text,
        k - len(strict),
        filters,
        exclude=[pk for pk, _ in strict],
        match_params=[query_text] if rarest is None else [query_text, rarest],
    )
    return strict, relaxed


@pytest.fixture
def catalogue():
    make = {"description": "", "attributes": {}, "brand": None}
    products = [ProductFactory(title=f"wooden toy {n}", category=None, **make) for n in range(20)]
    products += [
        ProductFactory(title=title, **make)
        for title in [
            "bunny toy",
            "bunny plush toy",
            "bunny",
            "red kettle",
            "red red kettle with a long steel spout and a wooden handle and a lid",
            "kettle kettle kettle red",
            "red glass kettle",
            "steel kettle electric",
            "red teapot",
            "O'Brien's toy kettle",
        ]
    ]
    return products


@pytest.mark.parametrize("full_match", ["known_words", "every_word"])
@pytest.mark.parametrize("scoring", ["bm25", "bm25f"])
def test_one_statement_returns_what_three_did(catalogue, scoring, full_match):
    category = catalogue[-1].category_id
    for match_limit in (5, 1000):  # the rarest-terms bound biting, and not
        index = PostgresLexicalIndex(
            match_limit=match_limit, scoring=scoring, full_match=full_match
        )
        for query in QUERIES:
            for k, filters in ((10, None), (3, None), (30, {"category_id": {category}})):
                expected = three_statements(index, query, k, filters)
                assert index.search_split(query, k, filters) == expected, (query, k, match_limit)


def test_the_bound_bites_in_the_comparison(catalogue):
    """The cases above do exercise the rarest-terms path and the partial matches."""
    # "tinytales" (no product holds it) makes every hit partial with full_match "every_word"
    index = PostgresLexicalIndex(match_limit=5, full_match="every_word")
    assert index._rarest_terms("tinytales bunny toy") is not None
    strict, partial = index.search_split("tinytales bunny toy", 10)
    assert strict == [] and len(partial) == 3


def test_the_lexical_stage_is_one_statement(catalogue):
    index = PostgresLexicalIndex(match_limit=5)
    for query in ("tinytales bunny toy", "red kettle", "bunny -toy"):
        with CaptureQueriesContext(connection) as captured:
            index.search_split(query, 10)
        assert len(captured.captured_queries) == 1, [q["sql"][:80] for q in captured]
