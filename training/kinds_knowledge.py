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

register_job_kind(
    "precompute_answer_summaries",
    title="Precompute answer summaries",
    summary="Writes the generated answer summaries of the most frequent support questions ahead, "
    "so shoppers get them at once, without waiting for the generator.",
    scales_with="search_logs",
    queue="gpu",
    runner="training.runners.answer_summaries.run",
    help="Pick the most frequent support questions of the search log (searches whose intent was "
    "support), find their answers as /api/v1/answers does with the active retriever, and have "
    "the generator (AISLE_GENERATOR_MODEL) summarise them with citations; a summary that cites "
    "no given passage is not kept. /api/v1/answers?summary=true serves a stored summary when "
    "its answers are exactly the passages it was written from; a knowledge-base change or "
    "another retriever or generator retires it.",
    params=[
        Param(
            "top",
            int,
            100,
            "how many of the most frequent support questions",
            min=1,
            max=10000,
            label="Questions",
        ),
        Param(
            "min_searches",
            int,
            2,
            "only questions searched at least this often",
            min=1,
            label="At least this many searches",
        ),
        Param(
            "days",
            int,
            30,
            "only searches of the last N days",
            min=1,
            label="Only the last N days",
        ),
    ],
)
