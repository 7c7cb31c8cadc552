"""The job kind that keeps the knowledge base's passage vectors current: ``embed_knowledge``.

Embedding a retriever (``embed_catalog``, a retriever's training, the bootstrap) writes the
passages' vectors too; this kind is for after the knowledge base changed (an import, an edit)."""

from __future__ import annotations

from training.jobs import Param, register_job_kind
from training.kinds import DEVICE

register_job_kind(
    "embed_knowledge",
    title="Embed the knowledge base",
    summary="Turns the help articles, policies and product Q&A into vectors, so support "
    "questions find their answers by meaning as well as by words.",
    scales_with="products",
    queue="gpu",
    runner="training.runners.knowledge.run",
    help="Encode the knowledge base's passages whose vector is missing or stale under a "
    "retriever version (default: every version that is active or pinned by a strategy), write "
    "them and build the version's HNSW index over them. A retriever is promoted only when its "
    "passage vectors exist.",
    params=[
        Param(
            "version",
            int,
            None,
            "retriever version id (default: every served one)",
            min=1,
            label="Retriever version",
            version_of="retriever",
        ),
        Param("batch_size", int, 64, "texts per forward pass", min=1, max=4096, label="Batch size"),
        DEVICE,
    ],
)
