"""The job kinds that make a retriever cheaper to serve: ``quantize`` (an int8 child for CPU
serving, in its parent's vector space) — and later ``distill``. Registered by the training
app's ``ready()``; runners in ``training.runners.quantize``."""

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
