"""``distill``: a smaller query encoder distilled from a retriever into its vector space
(``training.ml.distill``).

Choice: a *query-only* student. The catalogue keeps the teacher's product vectors; the student
(fewer layers, initialised from the teacher's) learns to put a text where the teacher puts it,
so its query vectors are compared with the teacher's stored vectors and nothing is re-embedded
(``vector_space`` = the teacher's space). It is trained on what it will encode: short texts —
product titles of the catalogue and queries mined from the search log and search events — with
the teacher's embeddings as targets, for a capped number of steps. Student and teacher are
scored on the same queries (``quantize``'s: a judged CSV, else the teacher's held-out split) and
timed at batch 1; the version is judged like any retriever (``promote_if_better`` against the
active one measured in this job).
"""

from __future__ import annotations

import random
from typing import Any

from catalog.models import Event, Product, SearchLog
from training import evaluation
from training.context import JobContext
from training.models import Task
from training.runners.embed import load_version_encoder
from training.runners.quantize import _judgments, _parent, _timed_queries


def _texts(limit: int, seed: int) -> tuple[list[str], dict[str, int]]:
    """Product titles and mined queries, deduplicated, a seeded sample of ``limit`` at most."""
    titles = list(Product.objects.filter(active=True).values_list("title", flat=True))
    logged = SearchLog.objects.exclude(normalised_query="").values_list(
        "normalised_query", flat=True
    )
    searched = Event.objects.filter(type="search").exclude(query="").values_list("query", flat=True)
    queries = list(dict.fromkeys([*logged.distinct()[:20000], *searched.distinct()[:20000]]))
    texts = list(dict.fromkeys(t.strip() for t in [*titles, *queries] if t and t.strip()))
    random.Random(seed).shuffle(texts)
    return texts[:limit], {"titles": len(titles), "queries": len(queries)}


def run(ctx: JobContext) -> None:
    import torch

    from training.ml import distill, quantize
    from training.ml.device import pick_device
    from training.ml.encoders import atomic_artifact_dir, encode_texts, write_artifact_meta

    p = ctx.params
    k = p["k"]
    teacher_version = _parent(p)
    device = pick_device("cpu")
    ctx.set_device(device)
    teacher = load_version_encoder(teacher_version, device).eval()
    total = distill.layer_count(teacher)
    layers = distill.default_layers(total, p["layers"])
    ctx.log(
        f"distilling retriever #{teacher_version.pk} ({total} layers) into a {len(layers)}-layer "
        f"query encoder (layers {layers} of the teacher), in the teacher's vector space"
    )
    with ctx.stage("teacher targets", 0.0, 0.15):
        texts, counts = _texts(p["max_texts"], p["seed"])
        targets = encode_texts(teacher, texts, batch_size=64, should_cancel=ctx.should_cancel)
    student = distill.make_student(teacher, layers)
    with ctx.stage("distil", 0.15, 0.75):
        figures = distill.distill(
            student,
            texts,
            targets,
            steps=p["steps"],
            batch_size=p["batch_size"],
            lr=p["lr"],
            seed=p["seed"],
            progress_cb=ctx.progress,
            should_cancel=ctx.should_cancel,
        )
    version = ctx.create_version(
        task=Task.RETRIEVER,
        name=f"{teacher_version.name} student {len(layers)}L"[:200],
        base=teacher_version.base,
        parent=teacher_version,
        vector_space_id=teacher_version.space_id,
        precision="fp32",
        dimension=teacher_version.dimension,
        hyperparameters={
            "method": "distill (query-only student)",
            "teacher": teacher_version.pk,
            "layers": layers,
            "steps": p["steps"],
            "batch_size": p["batch_size"],
            "lr": p["lr"],
            "seed": p["seed"],
        },
        dataset_snapshot={"texts": len(texts), **counts},
    )
    with atomic_artifact_dir(ctx.artifact_path(version)) as scratch:
        student.save(str(scratch))
        write_artifact_meta(
            scratch, {"mode": "full", "teacher": teacher_version.pk, "layers": layers}
        )
    ctx.check_cancel()
    with ctx.stage("score and time", 0.75, 1.0):
        judgments, source, split = _judgments(teacher_version, p)
        mine = evaluation.retrieval_metrics(student, version, judgments, k=k)
        theirs = evaluation.retrieval_metrics(teacher, teacher_version, judgments, k=k)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            latency = quantize.interleaved_latency(
                {"teacher": teacher, "student": student},
                _timed_queries(judgments, p["latency_queries"]),
            )
        finally:
            torch.set_num_threads(threads)
    metrics: dict[str, Any] = {
        **mine,
        "k": k,
        "source": source,
        "split": split,
        "teacher": teacher_version.pk,
        "parent_version": teacher_version.pk,
        "parent_same_split": theirs,
        "latency": {**latency, "threads": 1},
        "speedup_p50": round(
            latency["teacher"]["p50_ms"] / max(latency["student"]["p50_ms"], 1e-6), 2
        ),
        "distill": figures,
        "sane": mine.get(f"ndcg@{k}", 0.0) > 0.0,
    }
    if teacher_version.is_active:  # the deciding comparison, measured here on the same queries
        metrics["active_version"] = teacher_version.pk
        metrics["active_same_split"] = theirs
    ctx.log(
        f"{source}: ndcg@{k} student {mine.get(f'ndcg@{k}', 0):.4f} vs teacher "
        f"{theirs.get(f'ndcg@{k}', 0):.4f}; batch-1 p50 {latency['student']['p50_ms']:.1f} ms vs "
        f"{latency['teacher']['p50_ms']:.1f} ms; loss {figures['first_loss']} -> "
        f"{figures['last_loss']}"
    )
    ctx.finish(version, metrics)
