"""BM25 from the stored term counts (``Product.search_terms`` / ``search_term_counts``, issue 19
§2): the same products and the same scores, to the last bit, as cutting each candidate's
vector down to the query's lexemes; and the counts follow every write, whichever the writer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from recommend.serving.retrievers import PostgresLexicalIndex
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

QUERIES = [
    "red kettle",
    "kettle",
    "steel kettle lid spout",
    "red glass kettles electric",
    "teapot electric",
    "tinytales bunny toy",
    "bunny -toy",
    '"wooden toy" red',
    "wi-fi kettle",
    "zzz unknown words",
    "O'Brien kettle",
]


@pytest.fixture
def catalogue():
    """Words in every field (title A, brand/category/attributes B, description C), repeated,
    and products that tie: what the field weights, the lengths and the order of the sum see."""
    products = [
        ProductFactory(title=f"wooden toy {n}", description="", attributes={}, brand=None)
        for n in range(12)
    ]
    for title, description, attributes in [
        ("red kettle", "", {}),
        ("red kettle", "", {}),
        ("kettle", "a red kettle with a steel lid", {"colour": "red"}),
        ("red red kettle with a long steel spout and a wooden handle", "and a lid", {}),
        ("kettle kettle kettle red", "electric", {"material": "glass"}),
        ("red glass kettle", "electric kettles, wi-fi controlled", {}),
        ("steel kettle electric", "", {"colour": "steel"}),
        ("red teapot", "not a kettle", {}),
        ("bunny toy", "", {}),
        ("bunny plush toy", "tinytales", {}),
        ("O'Brien's toy kettle", "", {}),
    ]:
        products.append(ProductFactory(title=title, description=description, attributes=attributes))
    ProductFactory(title="red kettle retired", active=False)
    return products


def both(scoring: str, match_limit: int = 1000):
    return (
        PostgresLexicalIndex(match_limit=match_limit, scoring=scoring, term_counts=False),
        PostgresLexicalIndex(match_limit=match_limit, scoring=scoring),
    )


@pytest.mark.parametrize("scoring", ["bm25", "bm25f"])
def test_the_same_products_and_scores_as_from_the_vectors(catalogue, scoring):
    category = catalogue[-1].category_id
    for match_limit in (5, 1000):  # the rarest-terms bound biting, and not
        vectors, counts = both(scoring, match_limit)
        assert counts.term_counts and not vectors.term_counts
        for query in QUERIES:
            for k, filters in ((10, None), (3, None), (30, {"category_id": {category}})):
                expected = vectors.search_split(query, k, filters)
                # exact equality: the same floating-point sums, in the same order
                assert counts.search_split(query, k, filters) == expected, (query, k)
    ids = [p.pk for p in catalogue] + [Product.objects.get(active=False).pk]
    vectors, counts = both(scoring)
    for query in QUERIES:
        assert counts.scores(query, ids) == vectors.scores(query, ids), query
    assert any(score > 0 for score in counts.scores("red kettle", ids).values())


def test_the_exact_scorings_still_read_the_vectors(catalogue):
    for scoring in ("bm25_exact", "bm25f_exact", "ts_rank_cd"):
        assert not PostgresLexicalIndex(scoring=scoring).term_counts


def stored_and_computed() -> tuple[dict, dict]:
    """Each product's stored ``(search_terms, search_term_counts)``, and the same computed
    here from its ``search_vector``."""
    stored = {
        pk: (terms, counts)
        for pk, terms, counts in Product.objects.values_list(
            "id", "search_terms", "search_term_counts"
        )
    }
    computed = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, u.lexeme, u.weights FROM catalog_product p,"
            " unnest(p.search_vector) WITH ORDINALITY AS u(lexeme, positions, weights, n)"
            " ORDER BY p.id, u.n"
        )
        for pk, lexeme, weights in cursor.fetchall():
            terms, counts = computed.setdefault(pk, ([], []))
            terms.append(lexeme)
            counts.append([(weights or []).count(w) for w in "ABCD"])
    for pk in stored:
        computed.setdefault(pk, ([], []))
    return stored, {pk: (terms, counts) for pk, (terms, counts) in computed.items()}


def test_the_counts_follow_every_write(catalogue):
    plain = ProductFactory(
        title="red kettle", description="kettles", attributes={}, brand=None, category=None
    )
    stored, computed = stored_and_computed()
    assert stored == computed
    # lexemes in the vector's order, occurrences by weight {A, B, C, D}
    assert stored[plain.pk] == (["kettl", "red"], [[1, 0, 1, 0], [1, 0, 0, 0]])

    kettle = catalogue[14]
    vectors, counts = both("bm25f")
    # a text change through the ORM, a bulk one in SQL, a new product, a deactivation
    kettle.title = "teapot"
    kettle.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_product SET description = description || ' teapot teapot'"
            " WHERE title LIKE 'red%%'"
        )
    added = ProductFactory(title="teapot kettle", description="a teapot", attributes={})
    Product.objects.filter(pk=catalogue[13].pk).update(active=False)
    stored, computed = stored_and_computed()
    assert stored == computed
    terms, occurrences = stored[kettle.pk]
    assert occurrences[terms.index("teapot")] == [1, 0, 0, 0]

    strict, partial = counts.search_split("red teapot", 30)
    assert (strict, partial) == vectors.search_split("red teapot", 30)
    found = {pk for pk, _ in strict + partial}
    assert kettle.pk in found and added.pk in found and catalogue[13].pk not in found
    assert counts.search_split("teapot", 30) == vectors.search_split("teapot", 30)


def test_a_product_with_no_text_scores_nothing():
    empty = ProductFactory(title="", description="", attributes={}, brand=None, category=None)
    ProductFactory(title="kettle", description="", attributes={})
    assert Product.objects.get(pk=empty.pk).search_terms == []
    vectors, counts = both("bm25f")
    assert counts.scores("kettle", [empty.pk]) == vectors.scores("kettle", [empty.pk])
    assert counts.scores("kettle", [empty.pk]) == {empty.pk: 0.0}


def test_still_one_statement(catalogue):
    for query in ("tinytales bunny toy", "red kettle", "bunny -toy"):
        with CaptureQueriesContext(connection) as captured:
            PostgresLexicalIndex(match_limit=5).search_split(query, 10)
        assert len(captured.captured_queries) == 1
        assert "search_term_counts" in captured.captured_queries[0]["sql"]


def test_the_full_text_index_caps_its_pending_list():
    """Entries waiting in the GIN pending list are read by every search: the index keeps the
    list at 256 kB (migration 0010), not the server's 4 MB."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'catalog_product_fts'")
        assert cursor.fetchone()[0] == ["gin_pending_list_limit=256"]
