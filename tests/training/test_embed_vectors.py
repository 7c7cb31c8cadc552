"""Product vectors in PostgreSQL: binary COPY wire format, upsert, partial HNSW index, read-back."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from django.db import connection
from pgvector import Vector

from tests import factories
from training import vectors
from training.ml.encoders import product_text, text_hash
from training.models import ProductEmbedding

pytestmark = pytest.mark.django_db


def test_copy_rows_match_pgvectors_binary_format():
    ids = [7, 2**40]
    matrix = np.array([[0.5, -1.25, 3.0], [1e-3, 0.0, -7.5]], dtype=np.float32)
    hashes = ["a" * 32, "b" * 32]
    payload = vectors.copy_rows(ids, matrix, hashes)
    assert payload.startswith(b"PGCOPY\n\xff\r\n\x00") and payload.endswith(b"\xff\xff")
    body = payload[19:-2]
    row = len(body) // 2
    for n, (pk, vec, digest) in enumerate(zip(ids, matrix, hashes, strict=True)):
        chunk = body[n * row : (n + 1) * row]
        expected_vector = Vector(vec).to_binary()  # what pgvector.psycopg's binary dumper sends
        assert chunk == (
            struct.pack(">hiq", 3, 8, pk)
            + struct.pack(">i", len(expected_vector))
            + expected_vector
            + struct.pack(">i", 32)
            + digest.encode()
        )
    with pytest.raises(ValueError, match="32 characters"):
        vectors.copy_rows([1], matrix[:1], ["short"])


def test_write_upserts_and_load_reads_back_exactly():
    version = factories.ModelVersionFactory(dimension=4)
    products = factories.ProductFactory.create_batch(3)
    ids = [p.pk for p in products]
    first = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    assert vectors.write_embeddings(version.pk, ids, first, ["1" * 32] * 3) == 3
    second = -first[:2]
    assert vectors.write_embeddings(version.pk, ids[:2], second, ["2" * 32] * 2) == 2

    loaded_ids, matrix = vectors.load_vectors(version.pk)
    assert loaded_ids == sorted(ids)
    by_id = dict(zip(loaded_ids, matrix, strict=True))
    assert np.array_equal(by_id[ids[0]], second[0]) and np.array_equal(by_id[ids[2]], first[2])
    assert vectors.stored_hashes(version.pk) == {
        ids[0]: "2" * 32,
        ids[1]: "2" * 32,
        ids[2]: "1" * 32,
    }
    assert ProductEmbedding.objects.filter(model_version=version).count() == 3
    # The ORM reads the same vectors (pgvector.django).
    orm = ProductEmbedding.objects.get(model_version=version, product_id=ids[2]).vector
    assert np.allclose(orm, first[2])


def test_a_vector_for_a_deleted_product_is_skipped_not_an_error():
    version = factories.ModelVersionFactory(dimension=2)
    product = factories.ProductFactory()
    written = vectors.write_embeddings(
        version.pk, [product.pk, 10**12], np.ones((2, 2), np.float32), ["c" * 32] * 2
    )
    assert written == 1


def test_one_partial_hnsw_index_per_version_with_a_dimension_cast():
    a = factories.ModelVersionFactory(dimension=3)
    b = factories.ModelVersionFactory(dimension=3)
    product = factories.ProductFactory()
    vectors.write_embeddings(a.pk, [product.pk], np.ones((1, 3), np.float32), ["d" * 32])
    vectors.ensure_hnsw_index(a.pk, 3)
    vectors.ensure_hnsw_index(a.pk, 3)  # idempotent
    assert vectors.hnsw_index_exists(a.pk) and not vectors.hnsw_index_exists(b.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", [vectors.index_name(a.pk)]
        )
        definition = cursor.fetchone()[0]
    assert "USING hnsw" in definition and "vector_cosine_ops" in definition
    assert "(vector)::vector(3)" in definition and f"model_version_id = {a.pk}" in definition
    vectors.drop_hnsw_index(a.pk)
    assert not vectors.hnsw_index_exists(a.pk)


def test_product_texts_use_category_path_and_hash_changes_with_text():
    parent = factories.CategoryFactory(name="Home")
    child = factories.CategoryFactory(name="Coffee", parent=parent)
    product = factories.ProductFactory(
        title="Moka Pot", category=child, description="<b>Stovetop</b> brewer"
    )
    factories.ProductFactory(active=False)
    texts = vectors.active_product_texts()
    assert texts.ids == [product.pk]
    expected = product_text(
        "Moka Pot", product.brand.name, "Home > Coffee", "<b>Stovetop</b> brewer"
    )
    assert texts.texts == [expected] and "Home > Coffee" in expected and "<b>" not in expected
    assert texts.hashes == [text_hash(expected)]
    version = factories.ModelVersionFactory(dimension=2)
    assert vectors.stale_positions(texts, version.pk) == [0]
    vectors.write_embeddings(version.pk, texts.ids, np.ones((1, 2), np.float32), texts.hashes)
    assert vectors.stale_positions(texts, version.pk) == []
    product.title = "Moka Pot 6 cups"
    product.save()
    assert vectors.stale_positions(vectors.active_product_texts(), version.pk) == [0]
