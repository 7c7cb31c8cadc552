"""The job kinds that make a retriever cheaper to serve: ``quantize`` (an int8 child for CPU
serving, in its parent's vector space) and ``distill`` (a smaller query-only student in its teacher's space). Registered by the training
app's ``ready()``; runners in ``training.runners.quantize`` and ``training.runners.distill``."""

from __future__ import annotations

from training.activation import VersionPolicy
from training.jobs import Param, register_job_kind
from training.kinds import judged_csv_rule

register_job_kind(
    "quantize",
    title="Quantise a retriever (int8)",
    summary="Makes an int8 copy of a retriever that encodes queries faster on the CPU, serves "
    "against its parent's product vectors and is checked against its parent's quality.",
    scales_with="products",
    queue="cpu",
    runner="training.runners.quantize.run",
    versions=VersionPolicy(metric="ndcg@10", parent_tolerance=True, activate_first=False),
    help="Export a retriever version's transformer to ONNX and quantise its weights to int8 "
    "(ONNX Runtime dynamic quantisation, per channel): a child version (precision int8) whose "
    "query vectors live in its parent's space, so it serves against the parent's stored product "
    "vectors with no re-embedding. The job scores child and parent on the same queries (NDCG@k, "
    "recall, MRR: a judged CSV, else the parent's held-out split), measures batch-1 query "
    "encoding p50/p95 of both and the cosine of their query vectors. It may become active only "
    "while its NDCG@k stays within QUANTIZED_NDCG_TOLERANCE (default 1 %) of its parent's; with "
    "promote_if_better the job promotes it then.",
    params=[
        Param(
            "version",
            int,
            None,
            "retriever version to quantise (default: the active retriever)",
            label="Retriever version",
            version_of="retriever",
        ),
        Param(
            "judged_csv",
            str,
            "",
            "judged CSV under DATA_DIR (query,product_id,...,grade), e.g. demo/relevance.csv; "
            "empty: the parent's held-out queries",
            label="Judged queries (CSV)",
        ),
        Param("k", int, 10, "cut-off of the NDCG@k compared", min=1, max=100, label="Cut-off k"),
        Param(
            "latency_queries",
            int,
            200,
            "queries timed one at a time (batch 1) for the p50/p95 of each encoder",
            min=10,
            max=5000,
            label="Queries timed",
        ),
        Param(
            "threads",
            int,
            1,
            "intra-op threads while timing (serving uses SERVING_TORCH_THREADS, default 1)",
            min=1,
            max=64,
            label="Threads timed with",
        ),
    ],
    validate=judged_csv_rule,
)

register_job_kind(
    "distill",
    title="Distil a smaller query encoder",
    summary="Trains a retriever with fewer layers to place queries where its teacher does, so it "
    "serves against the teacher's product vectors and encodes queries faster.",
    scales_with="products",
    queue="cpu",
    runner="training.runners.distill.run",
    versions=VersionPolicy(metric="ndcg@10", activate_first=False),
    help="A query-only student: the teacher retriever with fewer transformer layers (chosen "
    "evenly among the teacher's, weights copied), trained for a capped number of steps to match "
    "the teacher's L2-normalised embeddings of product titles and mined queries. Its query "
    "vectors live in the teacher's space, so it serves against the teacher's stored product "
    "vectors (no re-embedding). Student and teacher are scored on the same queries (NDCG@k, "
    "recall, MRR) and timed at batch 1; promote_if_better promotes it when it beats the active "
    "teacher on them.",
    params=[
        Param(
            "version",
            int,
            None,
            "teacher retriever version (default: the active retriever)",
            label="Teacher version",
            version_of="retriever",
        ),
        Param(
            "layers", int, 3, "transformer layers the student keeps", min=1, max=48, label="Layers"
        ),
        Param(
            "steps",
            int,
            300,
            "training batches (capped for the CPU)",
            min=1,
            max=20000,
            label="Training steps",
        ),
        Param("batch_size", int, 32, "texts per batch", min=1, max=1024, label="Batch size"),
        Param("lr", float, 5e-5, "learning rate (AdamW)", min=1e-7, max=1.0, label="Learning rate"),
        Param(
            "max_texts",
            int,
            4000,
            "product titles and mined queries distilled on, a seeded sample",
            min=1,
            label="Texts at most",
        ),
        Param("seed", int, 42, "seed of the sample and the batches", label="Seed"),
        Param(
            "judged_csv",
            str,
            "",
            "judged CSV under DATA_DIR for scoring; empty: the teacher's held-out queries",
            label="Judged queries (CSV)",
        ),
        Param("k", int, 10, "cut-off of the NDCG@k compared", min=1, max=100, label="Cut-off k"),
        Param(
            "latency_queries",
            int,
            200,
            "queries timed one at a time (batch 1) for each encoder",
            min=10,
            max=5000,
            label="Queries timed",
        ),
    ],
    validate=judged_csv_rule,
)
