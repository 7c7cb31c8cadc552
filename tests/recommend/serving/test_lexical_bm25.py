"""The lexical retriever ranks by Okapi BM25, the same as a reference computed here in Python
from the products' own full-text vectors (so only the scoring is under test, not stemming).
The stemmed field's BM25 (``scoring="bm25"``) alone: what the served scoring adds to it is
under test in ``test_lexical_exact.py``."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest
from django.db import connection

from catalog.models import Product
from recommend.serving.retrievers import BM25_B, BM25_K1, PostgresLexicalIndex
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

TITLES = [
    "red kettle",
    "red red kettle with a long steel spout and a wooden handle and a lid",
    "kettle kettle kettle red",
    "red mug",
    "red plate",
    "red bowl",
    "red cup",
    "red glass kettle",
    "blue kettle",
    "steel kettle electric",
    "red teapot",
]


def vectors() -> dict[int, Counter]:
    """Each active product's lexemes with their counts of positions, parsed from PostgreSQL."""
    out = {}
    for pk, text in Product.objects.filter(active=True).values_list("id", "search_vector"):
        out[pk] = Counter(
            {m.group(1): len(m.group(2).split(",")) for m in re.finditer(r"'([^']+)':(\S+)", text)}
        )
    return out


def query_lexemes(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [text])
        return cursor.fetchone()[0]


def reference_bm25(text: str) -> dict[int, float]:
    docs = vectors()
    n = len(docs)
    avgdl = sum(len(d) for d in docs.values()) / n
    terms = query_lexemes(text)
    out = {}
    for pk, doc in docs.items():
        score = 0.0
        for term in terms:
            tf = doc.get(term, 0)
            if not tf:
                continue
            df = sum(1 for d in docs.values() if term in d)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            norm = BM25_K1 * (1 - BM25_B + BM25_B * len(doc) / avgdl)
            score += idf * tf * (BM25_K1 + 1) / (tf + norm)
        out[pk] = score
    return out


@pytest.fixture
def catalogue():
    products = [
        ProductFactory(title=title, description="", attributes={}, brand=None, category=None)
        for title in TITLES
    ]
    # An inactive product is not searchable, and does not count in the statistics either.
    ProductFactory(title="kettle kettle", description="", attributes={}, brand=None, active=False)
    return products


def test_full_matches_rank_by_bm25(catalogue):
    reference = reference_bm25("red kettle")
    hits, _partial = PostgresLexicalIndex(scoring="bm25").search_split("red kettle", 10)
    expected = sorted(
        (pk for pk in reference if reference[pk] > 0 and {"red", "kettl"} <= set(vectors()[pk])),
        key=lambda pk: (-reference[pk], pk),
    )
    assert [pk for pk, _ in hits] == expected
    for pk, score in hits:
        assert score == pytest.approx(reference[pk], rel=1e-9)
    # The rare word weighs more than the common one: three "kettle" beat two "red".
    assert hits[0][0] == catalogue[2].pk


def test_partial_matches_and_ranker_scores_use_the_same_bm25(catalogue):
    reference = reference_bm25("teapot electric")
    strict, partial = PostgresLexicalIndex(scoring="bm25").search_split("teapot electric", 10)
    assert strict == []
    assert [pk for pk, _ in partial] == sorted(
        (pk for pk in reference if reference[pk] > 0), key=lambda pk: (-reference[pk], pk)
    )
    ids = [p.pk for p in catalogue]
    scores = PostgresLexicalIndex(scoring="bm25").scores("red kettle", ids)
    reference = reference_bm25("red kettle")
    assert scores == {pk: pytest.approx(reference[pk], rel=1e-9) for pk in ids}


def test_statistics_follow_the_catalogue(catalogue):
    """A product added with the rare word makes it less rare: its idf, and the score, drop."""
    before = PostgresLexicalIndex(scoring="bm25").scores("teapot", [catalogue[-1].pk])[
        catalogue[-1].pk
    ]
    ProductFactory(title="teapot", description="", attributes={}, brand=None, category=None)
    after = PostgresLexicalIndex(scoring="bm25").scores("teapot", [catalogue[-1].pk])[
        catalogue[-1].pk
    ]
    assert after < before
    assert after == pytest.approx(reference_bm25("teapot")[catalogue[-1].pk], rel=1e-9)


def test_rankers_record_the_lexical_score_serving_computes():
    """training.ml.ranker (plain Python) names the lexical feature's definition in the
    artifacts it saves; it must be the one the retriever computes for training lists."""
    from recommend.serving.retrievers import DEFAULT_SCORING
    from training.ml.ranker import LEXICAL_SCORE

    assert LEXICAL_SCORE == DEFAULT_SCORING


def test_partial_matches_come_from_the_rarest_words_when_the_bound_bites():
    """With more any-word matches than the bound, the bounded set holds the products with the
    rarest words (not an arbitrary few of the commonest word's), negations still apply."""
    make = {"description": "", "attributes": {}, "brand": None, "category": None}
    toys = [ProductFactory(title=f"wooden toy {n}", **make) for n in range(20)]
    bunnies = [
        ProductFactory(title="bunny toy", **make),
        ProductFactory(title="bunny plush toy", **make),
        ProductFactory(title="bunny", **make),
    ]
    # "tinytales" (no product holds it) makes every hit partial only with full_match
    # "every_word"; by default "bunny toy" would be two full matches.
    index = PostgresLexicalIndex(match_limit=5, scoring="bm25", full_match="every_word")
    strict, partial = index.search_split("tinytales bunny toy", 10)
    assert strict == []
    reference = reference_bm25("tinytales bunny toy")
    assert [pk for pk, _ in partial] == sorted(
        (b.pk for b in bunnies), key=lambda pk: (-reference[pk], pk)
    )
    assert not {t.pk for t in toys} & {pk for pk, _ in partial}
    _strict, partial = index.search_split("tinytales bunny -plush", 10)
    assert {pk for pk, _ in partial} == {bunnies[0].pk, bunnies[2].pk}
    # Within the bound, every word's matches are candidates, as before.
    _strict, partial = PostgresLexicalIndex(scoring="bm25", full_match="every_word").search_split(
        "tinytales bunny toy", 30
    )
    assert len(partial) == 23


def test_bm25f_counts_each_occurrence_by_its_field(catalogue):
    """The served scoring: BM25 with each occurrence weighing its field's weight (title A 2,
    brand/category/attributes B and description C 1), the same as computed here."""
    from recommend.serving.retrievers import BM25F_FIELD_WEIGHTS

    ProductFactory(
        title="kettle", description="a red kettle for tea", attributes={}, brand=None, category=None
    )
    docs = {}
    for pk, text in Product.objects.filter(active=True).values_list("id", "search_vector"):
        docs[pk] = {
            m.group(1): sum(
                BM25F_FIELD_WEIGHTS.get(p.lstrip("0123456789") or "D", 1.0)
                for p in m.group(2).split(",")
            )
            for m in re.finditer(r"'([^']+)':(\S+)", text)
        }
    n, avgdl = len(docs), sum(len(d) for d in docs.values()) / len(docs)
    expected = {}
    for pk, doc in docs.items():
        score = 0.0
        for term in query_lexemes("red kettle"):
            tf = doc.get(term, 0)
            if tf:
                df = sum(1 for d in docs.values() if term in d)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                norm = BM25_K1 * (1 - BM25_B + BM25_B * len(doc) / avgdl)
                score += idf * tf * (BM25_K1 + 1) / (tf + norm)
        expected[pk] = score
    scores = PostgresLexicalIndex(scoring="bm25f").scores("red kettle", list(docs))
    assert scores == {pk: pytest.approx(expected[pk], rel=1e-9) for pk in docs}
    assert PostgresLexicalIndex().scoring == "bm25f"
