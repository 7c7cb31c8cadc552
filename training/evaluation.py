"""Scoring versions on held-out data: retrievers by exact search over their stored vectors,
classifiers and CF models on a rebuilt split. Shared by the training runners and ``evaluate``."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from catalog.models import Product
from training import vectors
from training.ml import metrics
from training.models import ModelVersion

EVAL_DEPTH = 100  # ranked ids kept per query (enough for any k up to 100)


def rank_queries(
    model,
    version: ModelVersion,
    queries: list[str],
    *,
    depth: int = EVAL_DEPTH,
    batch_size: int = 128,
) -> dict[str, list[int]]:
    """Top ``depth`` active products per query under ``version`` (exact cosine over its vectors)."""
    from training.ml.encoders import encode_texts

    ids, matrix = vectors.load_vectors(version.space_id)  # a quantised child: its parent's
    if not ids or not queries:
        return {q: [] for q in queries}
    active = set(Product.objects.filter(active=True, pk__in=ids).values_list("pk", flat=True))
    keep = np.fromiter((pk in active for pk in ids), dtype=bool, count=len(ids))
    id_array = np.asarray(ids, dtype=np.int64)[keep]
    matrix = matrix[keep]
    query_vectors = encode_texts(model, queries, batch_size=batch_size)
    rankings: dict[str, list[int]] = {}
    depth = min(depth, len(id_array))
    for start in range(0, len(queries), 256):
        scores = query_vectors[start : start + 256] @ matrix.T
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        for row, query in enumerate(queries[start : start + 256]):
            order = top[row][np.argsort(-scores[row, top[row]], kind="stable")]
            rankings[query] = id_array[order].tolist()
    return rankings


def retrieval_metrics(
    model, version: ModelVersion, judgments: Mapping[str, Mapping[Hashable, float]], *, k: int = 10
) -> dict[str, float]:
    """Recall@k, NDCG@k, MRR (and the number of queries) of ``version`` on ``judgments``."""
    queries = [q for q, judged in judgments.items() if any(g > 0 for g in judged.values())]
    rankings = rank_queries(model, version, queries, depth=max(k, EVAL_DEPTH))
    report = metrics.retrieval_report(rankings, {q: judgments[q] for q in queries}, ks=(k,))
    return {name: round(float(value), 4) for name, value in report.items()}


def compare_retrievers(
    candidate_model,
    candidate: ModelVersion,
    judgments,
    *,
    k: int = 10,
    device: Any = None,
    baseline: ModelVersion | None = None,
) -> dict[str, Any]:
    """The candidate's metrics and, on the same judgments, the baseline's (default: active)."""
    from training import selectors
    from training.models import Task
    from training.runners.embed import load_version_encoder

    result: dict[str, Any] = {
        "candidate": retrieval_metrics(candidate_model, candidate, judgments, k=k)
    }
    baseline = baseline or selectors.active_version(Task.RETRIEVER)
    if baseline is not None and baseline.pk != candidate.pk:
        if selectors.missing_vector_count(baseline):
            result["baseline_note"] = (
                f"version #{baseline.pk} lacks vectors for some active products"
            )
        model = load_version_encoder(baseline, device)
        result["baseline"] = retrieval_metrics(model, baseline, judgments, k=k)
        result["baseline_version"] = baseline.pk
    return result
