"""Image vectors in PostgreSQL: upsert per image-encoder version, a partial HNSW index per
version (cosine, built by the ``embed_images`` job), and nearest-neighbour reads."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction

from catalog.images.models import ImageEmbedding
from platform_core.bound_sql import VectorParam, bound_cursor, use_ef_search

TABLE = ImageEmbedding._meta.db_table


def write_image_vectors(
    version_id: int, product_ids: Sequence[int], vectors: np.ndarray, shas: Sequence[str]
) -> int:
    """Upsert one version's vectors (one row per product); returns rows written."""
    rows = [
        ImageEmbedding(
            product_id=int(pid), model_version_id=version_id, vector=vec.tolist(), image_sha256=sha
        )
        for pid, vec, sha in zip(product_ids, vectors, shas, strict=True)
    ]
    with transaction.atomic():
        ImageEmbedding.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["model_version", "product"],
            update_fields=["vector", "image_sha256", "updated_at"],
        )
    return len(rows)


def index_name(version_id: int) -> str:
    return f"images_ie_hnsw_v{int(version_id)}"


def ensure_image_index(version_id: int, dimension: int) -> float:
    """Build the version's partial HNSW index if it is missing; returns seconds taken."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.in_atomic_block:
            # deferred FK checks of rows written earlier in this transaction: CREATE INDEX
            # refuses a table with pending trigger events
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(version_id)} ON {TABLE} "
            f"USING hnsw ((vector::vector({int(dimension)})) vector_cosine_ops) "
            f"WHERE model_version_id = {int(version_id)}"
        )
    return time.monotonic() - started


def image_index_exists(version_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index_name(version_id)])
        return cursor.fetchone() is not None


def nearest_products(
    version_id: int,
    dimension: int,
    vector: Sequence[float],
    *,
    limit: int,
    where_sql: str = "",
    where_params: Sequence = (),
    exclude_product: int | None = None,
    ef_search: int = 100,
) -> list[tuple[int, float]]:
    """(product id, cosine similarity) of the ``limit`` nearest active products under the
    version, through its HNSW index (``where_sql`` filters on ``p``, the product row)."""
    query = VectorParam(vector)
    extra = f" AND {where_sql}" if where_sql else ""
    params: list = [query, version_id, *where_params]
    if exclude_product is not None:
        extra += " AND e.product_id <> %s"
        params.append(exclude_product)
    params.extend([query, limit])
    dim = int(dimension)
    # A filter applied after the HNSW walk can leave a selective filter with nothing (the walk
    # returns ef_search rows, filtered afterwards): filtered queries scan the version exactly
    # (an ORDER BY the index does not match), as do walks that came back short.
    orders = ([] if where_sql else [f"e.vector::vector({dim})"]) + ["e.vector"]
    for order_by in orders:
        with bound_cursor() as cursor:  # the vector in binary, the statement prepared
            use_ef_search(cursor, ef_search)
            cursor.execute(
                f"SELECT e.product_id, 1 - (e.vector::vector({dim}) <=> %s::vector({dim})) AS sim "
                f"FROM {TABLE} e JOIN catalog_product p ON p.id = e.product_id "
                f"WHERE e.model_version_id = %s AND p.active{extra} "
                f"ORDER BY {order_by} <=> %s::vector({dim}) LIMIT %s",
                params,
            )
            found = [(int(pid), float(sim)) for pid, sim in cursor.fetchall()]
        if len(found) >= limit:
            break
    return found


def product_image_vector(version_id: int, product_id: int) -> list[float] | None:
    row = (
        ImageEmbedding.objects.filter(model_version_id=version_id, product_id=product_id)
        .values_list("vector", flat=True)
        .first()
    )
    return None if row is None else [float(x) for x in row]
