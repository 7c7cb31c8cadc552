"""``quantize``: an int8 child of a retriever version for CPU serving (``training.ml.quantize``).

The child records its parent, ``precision = "int8"`` and ``vector_space`` = the parent's space:
it encodes queries into the parent's space and serves against the parent's stored product
vectors, so nothing is re-embedded. Child and parent are scored on the same queries and timed
on the same batch-1 queries, interleaved; the activation policy reads those figures
(``training.activation.parent_tolerance_check``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from training import datasets, evaluation, selectors
from training.activation import parent_tolerance_check
from training.context import JobContext
from training.models import ModelVersion, Task
from training.runners.embed import load_version_encoder
from training.runners.evaluate import _stored_snapshot, recorded_seed

LATENCY_WARMUP = 10


def _parent(params: dict[str, Any]) -> ModelVersion:
    if params.get("version"):
        parent = ModelVersion.objects.filter(pk=params["version"]).first()
        if parent is None:
            raise ValidationError(f"Model version #{params['version']} does not exist.")
    else:
        parent = selectors.active_version(Task.RETRIEVER)
        if parent is None:
            raise ValidationError("No retriever is active: name the version to quantise.")
    if parent.task != Task.RETRIEVER:
        raise ValidationError(f"Version #{parent.pk} is a {parent.task} version, not a retriever.")
    if parent.precision == "int8":  # e.g. the active int8 child: start from its fp32 parent
        if not parent.parent_id:
            raise ValidationError(f"Version #{parent.pk} is int8 and records no fp32 parent.")
        parent = parent.parent
    missing = selectors.missing_vector_count(parent)
    if missing:
        raise ValidationError(
            f"Version #{parent.pk} lacks vectors for {missing} active products; run "
            f"embed_catalog --param version={parent.pk} first (its child serves against them)."
        )
    return parent


def _judgments(parent: ModelVersion, params: dict[str, Any]) -> tuple[dict, str, Any]:
    """The queries both are scored on, where they come from, and the split's identity."""
    if params["judged_csv"]:
        return datasets.judged_csv(params["judged_csv"]), params["judged_csv"], params["judged_csv"]
    seed = recorded_seed(parent)
    stored = _stored_snapshot(parent, None)
    if stored is not None:
        data = datasets.retriever_data(seed=seed, frozen=stored.frozen)
        source = f"held-out queries (test split of the snapshot of version #{parent.pk})"
        return data.judgments("test"), source, {"snapshot": parent.pk, "seed": seed}
    days = (parent.dataset_snapshot or {}).get("days")
    data = datasets.retriever_data(seed=seed, days=days)
    return data.judgments("test"), "held-out queries (test split)", {"seed": seed, "days": days}


def _timed_queries(judgments: dict, count: int) -> list[str]:
    queries = sorted(judgments) or ["red shoes"]
    return [queries[i % len(queries)] for i in range(count)]


def run(ctx: JobContext) -> None:
    import torch

    from training.ml import quantize
    from training.ml.device import pick_device
    from training.ml.encoders import atomic_artifact_dir, encode_texts, load_encoder

    p = ctx.params
    k = p["k"]
    parent = _parent(p)
    device = pick_device("cpu")  # int8 is for CPU serving
    ctx.set_device(device)
    ctx.log(f"quantising retriever #{parent.pk} ({parent.name}) to int8 with ONNX Runtime")
    fp32 = load_version_encoder(parent, device)
    fp32.eval()
    child = ctx.create_version(
        task=Task.RETRIEVER,
        name=f"{parent.name} int8"[:200],
        base=parent.base,
        parent=parent,
        vector_space_id=parent.space_id,
        precision="int8",
        dimension=parent.dimension,
        hyperparameters={"method": "onnx", "parent": parent.pk, "weights": "int8 per channel"},
        dataset_snapshot=parent.dataset_snapshot or {},
    )
    with (
        ctx.stage("export and quantise", 0.0, 0.35),
        atomic_artifact_dir(ctx.artifact_path(child)) as scratch,
    ):
        quantize.quantize_onnx_artifact(fp32, scratch, meta={"parent": parent.pk})
    ctx.check_cancel()
    artifact = ctx.artifact_path(child)
    int8 = load_encoder(artifact, device="cpu", threads=p["threads"])

    with ctx.stage("score child and parent", 0.35, 0.7):
        judgments, source, split = _judgments(parent, p)
        if not any(any(g > 0 for g in grades.values()) for grades in judgments.values()):
            raise ValidationError(f"No judged queries with a relevant product in {source}.")
        mine = evaluation.retrieval_metrics(int8, child, judgments, k=k)
        ctx.check_cancel()
        theirs = evaluation.retrieval_metrics(fp32, parent, judgments, k=k)

    with ctx.stage("time batch-1 query encoding", 0.7, 1.0):
        queries = _timed_queries(judgments, p["latency_queries"])
        threads_before = torch.get_num_threads()
        torch.set_num_threads(p["threads"])
        try:
            latency = quantize.interleaved_latency(
                {"fp32": fp32, "int8": int8}, queries, warmup=LATENCY_WARMUP
            )
        finally:
            torch.set_num_threads(threads_before)
        sample = sorted(judgments)[:500]
        agreement = quantize.vector_agreement(
            encode_texts(int8, sample, batch_size=64), encode_texts(fp32, sample, batch_size=64)
        )

    speedup = latency["fp32"]["p50_ms"] / max(latency["int8"]["p50_ms"], 1e-6)
    metrics: dict[str, Any] = {
        **mine,
        "k": k,
        "precision": "int8",
        "method": "onnx",
        "source": source,
        "split": split,
        "parent_version": parent.pk,
        "parent_same_split": theirs,
        "latency": {**latency, "threads": p["threads"]},
        "speedup_p50": round(speedup, 2),
        "speedup_p95": round(latency["fp32"]["p95_ms"] / max(latency["int8"]["p95_ms"], 1e-6), 2),
        "query_cosine": agreement,
        "artifact_mb": quantize.artifact_size_mb(artifact),
        "tolerance": float(getattr(settings, "QUANTIZED_NDCG_TOLERANCE", 0.01)),
    }
    within, why = parent_tolerance_check(metrics, metrics["tolerance"])
    metrics["within_tolerance"] = within
    metrics["sane"] = mine.get(f"ndcg@{k}", 0.0) > 0.0
    metrics["sanity"] = "the child retrieves judged products" if metrics["sane"] else "ndcg 0"
    ctx.log(
        f"{source}: ndcg@{k} int8 {mine.get(f'ndcg@{k}', 0):.4f} vs fp32 "
        f"{theirs.get(f'ndcg@{k}', 0):.4f}; batch-1 p50 {latency['int8']['p50_ms']:.1f} ms vs "
        f"{latency['fp32']['p50_ms']:.1f} ms ({speedup:.2f}x); {why}"
    )
    ctx.finish(child, metrics)
