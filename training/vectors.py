"""Product vectors in PostgreSQL: texts to embed, binary COPY + upsert, per-version HNSW index.

Every database statement here runs on the calling thread's Django connection (so it joins the
caller's transaction); only the encoder runs on a thread of its own. The embedding pipeline
overlaps the two: while the encoder works on chunk *i + 1*, the caller's thread copies chunk *i*
into a staging table and upserts it into ``training_productembedding``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection, transaction

from catalog.models import Category, Product
from platform_core.bound_sql import use_ef_search
from training.ml.encoders import product_text, text_hash
from training.models import ProductEmbedding

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

TABLE = ProductEmbedding._meta.db_table
STAGE_TABLE = "training_embedding_stage"
HASH_LEN = 32
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


# --------------------------------------------------------------------------- product texts


@dataclass
class ProductTexts:
    """Parallel lists: product ids, their embedding texts and the texts' hashes."""

    ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: Sequence[int]) -> ProductTexts:
        return ProductTexts(
            [self.ids[i] for i in keep],
            [self.texts[i] for i in keep],
            [self.hashes[i] for i in keep],
        )


def category_labels() -> dict[int, str]:
    """``{category id: "Parent > Child"}`` for every category (one query)."""
    rows = {
        pk: (name, parent)
        for pk, name, parent in Category.objects.values_list("id", "name", "parent_id")
    }
    labels: dict[int, str] = {}

    def label(pk: int, depth: int = 0) -> str:
        if pk in labels:
            return labels[pk]
        name, parent = rows[pk]
        text = (
            name
            if parent is None or parent not in rows or depth > 20
            else f"{label(parent, depth + 1)} > {name}"
        )
        labels[pk] = text
        return text

    for pk in rows:
        label(pk)
    return labels


def active_product_texts(product_ids: Sequence[int] | None = None) -> ProductTexts:
    """Texts of the active products (all, or those in ``product_ids``), ordered by id."""
    categories = category_labels()
    qs = Product.objects.filter(active=True)
    if product_ids is not None:
        qs = qs.filter(pk__in=list(product_ids))
    out = ProductTexts()
    rows = qs.order_by("pk").values_list("pk", "title", "brand__name", "category_id", "description")
    for pk, title, brand, category_id, description in rows.iterator(chunk_size=5000):
        text = product_text(title, brand, categories.get(category_id), description)
        out.ids.append(pk)
        out.texts.append(text)
        out.hashes.append(text_hash(text))
    return out


def stored_hashes(version_id: int) -> dict[int, str]:
    """``{product id: text hash}`` of the vectors a version has."""
    return dict(
        ProductEmbedding.objects.filter(model_version_id=version_id).values_list(
            "product_id", "text_hash"
        )
    )


def stale_positions(texts: ProductTexts, version_id: int) -> list[int]:
    """Positions in ``texts`` whose vector under the version is missing or from other text."""
    stored = stored_hashes(version_id)
    return [
        i
        for i, (pk, digest) in enumerate(zip(texts.ids, texts.hashes, strict=True))
        if stored.get(pk) != digest
    ]


# --------------------------------------------------------------------------- binary COPY


def copy_rows(product_ids: Sequence[int], vectors: np.ndarray, hashes: Sequence[str]) -> bytes:
    """PostgreSQL binary COPY rows ``(product_id int8, vector vector, text_hash varchar)``.

    The vector field is pgvector's binary wire format (what ``pgvector.psycopg``'s binary dumper
    sends: int16 dimension, int16 0, float32 values, big-endian), built for all rows at once with
    one numpy structured array instead of a Python call per row.
    """
    n, dim = vectors.shape
    if n != len(product_ids) or n != len(hashes):
        raise ValueError("product_ids, vectors and hashes must have one length")
    row = np.dtype(
        [
            ("nfields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">u2"),
            ("unused", ">u2"),
            ("vec", ">f4", (dim,)),
            ("hash_len", ">i4"),
            ("hash", f"S{HASH_LEN}"),
        ]
    )
    rows = np.zeros(n, dtype=row)
    rows["nfields"] = 3
    rows["id_len"] = 8
    rows["id"] = np.asarray(product_ids, dtype=np.int64)
    rows["vec_len"] = 4 + 4 * dim
    rows["dim"] = dim
    rows["vec"] = vectors.astype(np.float32, copy=False)
    rows["hash_len"] = HASH_LEN
    encoded = [h.encode("ascii") for h in hashes]
    if any(len(h) != HASH_LEN for h in encoded):
        raise ValueError(f"text hashes must be {HASH_LEN} characters")
    rows["hash"] = encoded
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


def write_embeddings(
    version_id: int, product_ids: Sequence[int], vectors: np.ndarray, hashes: Sequence[str]
) -> int:
    """Upsert vectors for one version: binary COPY into a staging table, then one
    ``INSERT … ON CONFLICT`` into ``training_productembedding``. Returns rows written."""
    if not len(product_ids):
        return 0
    payload = copy_rows(product_ids, vectors, hashes)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} "
            "(product_id bigint, vector vector, text_hash varchar(32)) ON COMMIT DELETE ROWS"
        )
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(
            f"COPY {STAGE_TABLE} (product_id, vector, text_hash) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.write(payload)
        cursor.execute(
            f"INSERT INTO {TABLE} (product_id, model_version_id, vector, text_hash, updated_at) "
            f"SELECT s.product_id, %s, s.vector, s.text_hash, clock_timestamp() FROM {STAGE_TABLE} s "
            f"JOIN catalog_product p ON p.id = s.product_id "
            "ON CONFLICT (model_version_id, product_id) DO UPDATE "
            "SET vector = EXCLUDED.vector, text_hash = EXCLUDED.text_hash, updated_at = EXCLUDED.updated_at",
            [version_id],
        )
        written = cursor.rowcount
        cursor.execute(f"TRUNCATE {STAGE_TABLE}")
    return written


# --------------------------------------------------------------------------- HNSW index


def index_name(version_id: int) -> str:
    return f"training_pe_hnsw_v{int(version_id)}"


def ensure_hnsw_index(version_id: int, dimension: int) -> float:
    """Build the version's partial HNSW index (cosine, with a dimension cast) if it is missing.
    Returns the seconds spent."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Rows written earlier in an enclosing transaction may still have deferred FK checks
            # queued, and CREATE INDEX refuses a table with pending trigger events: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # until this transaction ends
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(version_id)} ON {TABLE} "
            f"USING hnsw ((vector::vector({int(dimension)})) vector_cosine_ops) "
            f"WHERE model_version_id = {int(version_id)}"
        )
    return time.perf_counter() - started


def drop_hnsw_index(version_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {index_name(version_id)}")


def hnsw_index_exists(version_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            [TABLE, index_name(version_id)],
        )
        return cursor.fetchone() is not None


def nearest_neighbour_pairs(
    version_id: int, dimension: int, threshold: float, *, ef_search: int = 40
) -> list[tuple[int, int, float]]:
    """``(product, its nearest other active product, cosine)`` for every active product whose
    nearest neighbour under the version is at least ``threshold`` similar: one probe of the
    version's HNSW index per product (LIMIT 2: the product itself and its neighbour), all in
    one SQL statement — never a products × products comparison."""
    dim, version = int(dimension), int(version_id)
    cast = f"::vector({dim})"  # the index's expression: (vector::vector(dim))
    with transaction.atomic(), connection.cursor() as cursor:
        use_ef_search(cursor, ef_search)  # in this transaction only (SET LOCAL)
        cursor.execute(
            f"SELECT e.product_id, nn.product_id, nn.cosine FROM {TABLE} e "
            "JOIN catalog_product p ON p.id = e.product_id AND p.active "
            "CROSS JOIN LATERAL ("
            f"  SELECT n.product_id, 1 - ((n.vector{cast}) <=> (e.vector{cast})) AS cosine "
            f"  FROM {TABLE} n "
            f"  WHERE n.model_version_id = {version} "
            f"  ORDER BY (n.vector{cast}) <=> (e.vector{cast}) LIMIT 2"
            ") nn "
            "JOIN catalog_product q ON q.id = nn.product_id AND q.active "
            f"WHERE e.model_version_id = {version} AND nn.product_id <> e.product_id "
            "AND nn.cosine >= %s",
            [float(threshold)],
        )
        return [(a, b, float(c)) for a, b, c in cursor.fetchall()]


# --------------------------------------------------------------------------- reading vectors


def load_vectors(version_id: int) -> tuple[list[int], np.ndarray]:
    """All of a version's product ids and vectors (float32, one row each) for exact scoring,
    read with a binary ``COPY … TO STDOUT`` and parsed in one numpy call."""
    buffer = bytearray()
    with connection.cursor() as cursor:
        sql = (
            f"COPY (SELECT product_id, vector FROM {TABLE} WHERE model_version_id = {int(version_id)} "
            "ORDER BY product_id) TO STDOUT WITH (FORMAT BINARY)"
        )
        with cursor.cursor.copy(sql) as copy:
            for block in copy:
                buffer += block
    body = bytes(buffer[len(COPY_HEADER) : -len(COPY_TRAILER)])
    if not body:
        return [], np.zeros((0, 0), dtype=np.float32)
    dim = int.from_bytes(body[18:20], "big")  # after nfields(2) id_len(4) id(8) vec_len(4)
    row = np.dtype(
        [
            ("nfields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">u2"),
            ("unused", ">u2"),
            ("vec", ">f4", (dim,)),
        ]
    )
    if len(body) % row.itemsize:
        raise ValueError(f"version {version_id} holds vectors of several dimensions")
    rows = np.frombuffer(body, dtype=row)
    if (rows["dim"] != dim).any():
        raise ValueError(f"version {version_id} holds vectors of several dimensions")
    return rows["id"].astype(np.int64).tolist(), rows["vec"].astype(np.float32)


# --------------------------------------------------------------------------- the pipeline


@dataclass
class EmbedStats:
    """What one pass of :func:`embed_and_write` did and how long each part took."""

    products: int = 0
    written: int = 0
    encode_s: float = 0.0
    write_s: float = 0.0
    total_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.products / self.total_s if self.total_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "written": self.written,
            "encode_s": round(self.encode_s, 3),
            "write_s": round(self.write_s, 3),
            "total_s": round(self.total_s, 3),
            "products_per_s": round(self.throughput, 1),
        }


_DONE = object()


def embed_and_write(
    model: SentenceTransformer,
    version_id: int,
    items: ProductTexts,
    *,
    batch_size: int = 128,
    chunk_size: int = 8192,
    progress_cb: Callable[..., None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> EmbedStats:
    """Encode ``items`` and upsert their vectors for ``version_id``.

    Texts are sorted longest first across the whole set and cut into chunks; a background
    thread encodes chunk after chunk (``training.ml.encoders.encode_texts``) while this thread
    writes the finished ones, so the database work hides behind the encoder.
    """
    from training.ml.encoders import encode_texts

    stats = EmbedStats(products=len(items))
    started = time.perf_counter()
    if not len(items):
        return stats
    order = np.argsort(
        -np.fromiter((len(t) for t in items.texts), dtype=np.int64, count=len(items)), kind="stable"
    )
    chunks = [order[i : i + chunk_size] for i in range(0, len(order), chunk_size)]
    total = len(items)
    done_before = [0]
    results: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []
    abandon = threading.Event()  # set when this thread fails: the encoder stops at its next batch

    def chunk_progress(
        fraction: float, step: int, total_steps: int, loss: Any, extra: dict
    ) -> None:
        if progress_cb is not None:
            done = done_before[0] + step
            progress_cb(done / total, done, total, None, {})

    def cancelled() -> bool:
        return abandon.is_set() or (should_cancel is not None and should_cancel())

    def encoder() -> None:
        try:
            for chunk in chunks:
                if abandon.is_set():
                    return
                t0 = time.perf_counter()
                vectors = encode_texts(
                    model,
                    [items.texts[i] for i in chunk],
                    batch_size=batch_size,
                    progress_cb=chunk_progress,
                    should_cancel=cancelled,
                )
                stats.encode_s += time.perf_counter() - t0
                done_before[0] += len(chunk)
                results.put((chunk, vectors))
        except BaseException as exc:  # re-raised on the caller's thread
            failure.append(exc)
        finally:
            results.put(_DONE)

    thread = threading.Thread(target=encoder, name="aisle-embed-encoder", daemon=True)
    thread.start()
    try:
        while (item := results.get()) is not _DONE:
            chunk, vectors = item
            t0 = time.perf_counter()
            stats.written += write_embeddings(
                version_id, [items.ids[i] for i in chunk], vectors, [items.hashes[i] for i in chunk]
            )
            stats.write_s += time.perf_counter() - t0
    except BaseException:
        abandon.set()
        while thread.is_alive() or not results.empty():  # unblock a put() on the full queue
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.1)
        raise
    finally:
        thread.join()
    if failure and not abandon.is_set():
        raise failure[0]
    stats.total_s = time.perf_counter() - started
    return stats


def clear_needs_embedding(embedded: dict[int, str]) -> int:
    """Lower the re-embed flag of products whose current text still hashes to what was embedded
    (``{product id: hash}``); a product edited while the job ran keeps its flag."""
    if not embedded:
        return 0
    flagged = list(
        Product.objects.filter(pk__in=list(embedded), needs_embedding=True).values_list(
            "pk", flat=True
        )
    )
    current = active_product_texts(flagged)
    done = [
        pk
        for pk, digest in zip(current.ids, current.hashes, strict=True)
        if embedded.get(pk) == digest
    ]
    return Product.objects.filter(pk__in=done, needs_embedding=True).update(needs_embedding=False)
