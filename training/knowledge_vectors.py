"""Knowledge-base passage vectors under a retriever version: encode what is missing or stale,
upsert, and keep the version's partial HNSW index over them.

Called whenever a retriever version is embedded (``training.runners.embed.embed_version``: the
catalogue's job, the retriever's training, the bootstrap), so a retriever never becomes active
without them (``training.services`` refuses it), and by the ``embed_knowledge`` job after the
knowledge base changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from catalog.knowledge.logic.chunking import embedding_text
from catalog.knowledge.models import Passage, PassageEmbedding

TABLE = PassageEmbedding._meta.db_table


def index_name(version_id: int) -> str:
    return f"knowledge_pe_hnsw_v{int(version_id)}"


def ensure_passage_index(version_id: int, dimension: int) -> None:
    """The version's partial HNSW index over its passage vectors (cosine), if missing."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(version_id)} ON {TABLE} "
            f"USING hnsw ((vector::vector({int(dimension)})) vector_cosine_ops) "
            f"WHERE model_version_id = {int(version_id)}"
        )


def embed_passages(
    model: Any,
    version_id: int,
    *,
    batch_size: int = 64,
    progress_cb: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Encode the passages whose vector under ``version_id`` is missing or stale; returns
    figures (passages encoded, seconds)."""
    from training.ml.encoders import encode_texts

    started = time.perf_counter()
    stored = dict(
        PassageEmbedding.objects.filter(model_version_id=version_id).values_list(
            "passage_id", "text_hash"
        )
    )
    todo = [
        (pk, heading, text, digest)
        for pk, heading, text, digest in Passage.objects.order_by("pk").values_list(
            "pk", "heading", "text", "text_hash"
        )
        if stored.get(pk) != digest
    ]
    dimension = None
    if todo:
        vectors = encode_texts(
            model,
            [embedding_text(h, t) for _, h, t, _ in todo],
            batch_size=batch_size,
            progress_cb=progress_cb,
            should_cancel=should_cancel,
        )
        dimension = int(vectors.shape[1])
        rows = [
            PassageEmbedding(
                passage_id=pk, model_version_id=version_id, vector=vector, text_hash=digest
            )
            for (pk, _, _, digest), vector in zip(todo, vectors, strict=True)
        ]
        with transaction.atomic():
            PassageEmbedding.objects.bulk_create(
                rows,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["model_version", "passage"],
                update_fields=["vector", "text_hash", "updated_at"],
            )
    if dimension is None:
        first = PassageEmbedding.objects.filter(model_version_id=version_id).first()
        dimension = len(first.vector) if first is not None else None
    if dimension:
        ensure_passage_index(version_id, dimension)
    return {
        "passages": len(todo),
        "passages_total": len(stored) + len([t for t in todo if t[0] not in stored]),
        "passages_s": round(time.perf_counter() - started, 3),
    }
