"""int8 query encoders against their fp32 parent: quality and batch-1 speed, side by side.

    DATABASE_URL=<a demo store's database> .venv/bin/python bench/quantize.py \
        [--judged DATA_DIR/demo/relevance.csv] [--version ID] [--timings 300] [--threads 1]

Reads a store that already serves a retriever (``manage.py platform_bootstrap`` on a database of
your own embeds the demo store; nothing is written to it) and compares, on the same judged
queries and the parent's stored product vectors (a quantised encoder serves in its parent's
space, no re-embedding):

* **fp32** — the retriever as served today (the baseline of every ratio);
* **torch dynamic int8** — ``torch.ao.quantization.quantize_dynamic`` on the Linear layers;
* **ONNX Runtime fp32** — the same export without quantisation: how much of the int8 row's
  speed is the runtime (no Python between the layers) and how much the int8 weights;
* **ONNX Runtime int8** — the transformer exported with ``torch.onnx.export`` and quantised by
  ``onnxruntime.quantization.quantize_dynamic`` (per-channel int8 weights): what the
  ``quantize`` job keeps, because it wins at batch 1.

Per encoder: NDCG@10 / recall@10 / MRR over the judged queries (exact cosine over the parent's
vectors), its relative change against fp32, the cosine of its query vectors with fp32's, and
the batch-1 query encoding p50/p95 with ``--threads`` intra-op threads (serving runs
``SERVING_TORCH_THREADS``, default 1). Timings interleave the encoders query by query, so a busy
spell on a shared machine slows them all alike; run it on an idle machine for absolute figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--judged", default="", help="judged CSV (default DATA_DIR/demo/relevance.csv)"
    )
    parser.add_argument("--version", type=int, default=None, help="retriever (default: active)")
    parser.add_argument("--timings", type=int, default=300, help="batch-1 queries timed each")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads when timing")
    parser.add_argument("--max-queries", type=int, default=0, help="judged queries scored (0: all)")
    parser.add_argument(
        "--embed-texts",
        type=int,
        default=0,
        help="also time the int8 embedding path on this many product texts vs bare fp32 (0: skip)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import django

    django.setup()
    import torch
    from django.conf import settings

    from training import datasets, evaluation, selectors
    from training.ml import quantize
    from training.ml.device import pick_device
    from training.ml.encoders import encode_texts, load_encoder
    from training.models import ModelVersion, Task
    from training.runners.embed import load_version_encoder

    parent = (
        ModelVersion.objects.get(pk=args.version)
        if args.version
        else selectors.active_version(Task.RETRIEVER)
    )
    if parent is None or selectors.missing_vector_count(parent):
        sys.exit("no retriever with a vector for every active product: embed the store first")
    judged_path = Path(args.judged or Path(settings.DATA_DIR) / "demo" / "relevance.csv")
    judgments = datasets.judged_csv(judged_path)
    judgments = {q: g for q, g in judgments.items() if any(v > 0 for v in g.values())}
    if args.max_queries:
        judgments = dict(sorted(judgments.items())[: args.max_queries])
    queries = sorted(judgments)
    print(
        f"retriever #{parent.pk} ({parent.name}); {len(queries)} judged queries from "
        f"{judged_path}; {selectors.embedding_count(parent)} product vectors; "
        f"{args.threads} thread(s); torch {torch.__version__}"
    )

    torch.set_num_threads(args.threads)
    fp32 = load_version_encoder(parent, pick_device("cpu")).eval()
    torch_int8 = quantize.torch_dynamic_int8(fp32)
    scratch = Path(tempfile.mkdtemp(prefix="aisle-bench-quantize-"))
    started = time.perf_counter()
    quantize.quantize_onnx_artifact(fp32, scratch / "onnx-int8")
    export_s = time.perf_counter() - started
    onnx_int8 = load_encoder(scratch / "onnx-int8", device="cpu", threads=args.threads)
    quantize.quantize_onnx_artifact(fp32, scratch / "onnx-fp32", int8=False)
    onnx_fp32 = load_encoder(scratch / "onnx-fp32", device="cpu", threads=args.threads)
    encoders = {
        "fp32": fp32,
        "torch dynamic int8": torch_int8,
        "ONNX Runtime fp32 (runtime only)": onnx_fp32,
        "ONNX Runtime int8": onnx_int8,
    }
    sizes = {
        "fp32": None,
        "torch dynamic int8": None,
        "ONNX Runtime fp32 (runtime only)": quantize.artifact_size_mb(
            scratch / "onnx-fp32" / "model.onnx"
        ),
        "ONNX Runtime int8": quantize.artifact_size_mb(scratch / "onnx-int8" / "model.onnx"),
    }

    quality = {
        name: evaluation.retrieval_metrics(m, parent, judgments, k=10)
        for name, m in encoders.items()
    }
    reference = encode_texts(fp32, queries, batch_size=64)
    agreement = {
        name: quantize.vector_agreement(encode_texts(m, queries, batch_size=64), reference)
        for name, m in encoders.items()
    }
    timed = [queries[i % len(queries)] for i in range(args.timings)]
    latency = quantize.interleaved_latency(encoders, timed, warmup=10)

    base_ndcg = quality["fp32"]["ndcg@10"]
    base = latency["fp32"]
    rows = []
    for name in encoders:
        q, t = quality[name], latency[name]
        rows.append(
            [
                name,
                q["ndcg@10"],
                f"{(q['ndcg@10'] - base_ndcg) / base_ndcg:+.2%}" if base_ndcg else "n/a",
                q["recall@10"],
                q["mrr"],
                agreement[name]["cosine_mean"],
                agreement[name]["cosine_min"],
                f"{t['p50_ms']:.2f}",
                f"{t['p95_ms']:.2f}",
                f"{base['p50_ms'] / t['p50_ms']:.2f}x",
                f"{base['p95_ms'] / t['p95_ms']:.2f}x",
                "-" if sizes[name] is None else f"{sizes[name]:.1f}",
            ]
        )
    print(
        table(
            [
                "encoder",
                "ndcg@10",
                "vs fp32",
                "recall@10",
                "mrr",
                "cos mean",
                "cos min",
                "p50 ms",
                "p95 ms",
                "p50 speed-up",
                "p95 speed-up",
                "MB",
            ],
            rows,
            title=f"batch-1 query encoding, {args.timings} timed queries each (interleaved); "
            f"NDCG over the parent's vectors (ONNX export + quantise took {export_s:.1f} s)",
        )
    )
    if args.embed_texts:
        _embedding_throughput(args, parent, fp32, scratch / "onnx-int8")
    quantize.remove_artifact(scratch)


def _embedding_throughput(args, parent, fp32, int8_dir: Path) -> None:
    """Issue 19 §3's int8 half: the embedding path (encode + write) with the int8 encoder vs
    bare fp32 ``SentenceTransformer.encode`` on the same product texts, all cores, and the
    cosine of the int8 product vectors with the parent's stored fp32 ones. The vectors go to a
    scratch version that is deleted afterwards."""
    import numpy as np
    import torch

    from training import vectors
    from training.ml.encoders import load_encoder
    from training.models import ModelVersion, Task

    items = vectors.active_product_texts()
    items = items.subset(list(range(min(args.embed_texts, len(items)))))
    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    fp32.encode(items.texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    bare_s = time.perf_counter() - started
    int8 = load_encoder(int8_dir, device="cpu", threads=None)
    scratch = ModelVersion.objects.create(
        task=Task.RETRIEVER,
        name="bench/quantize.py scratch (deleted)",
        status=ModelVersion.Status.TRAINING,
        precision="int8",
        dimension=parent.dimension,
    )
    try:
        started = time.perf_counter()
        vectors.embed_and_write(int8, scratch.pk, items, batch_size=64)
        job_s = time.perf_counter() - started
        ids, matrix = vectors.load_vectors(scratch.pk)
        parent_ids, parent_matrix = vectors.load_vectors(parent.space_id)
        row = {pk: i for i, pk in enumerate(parent_ids)}
        cosines = np.einsum(
            "ij,ij->i", matrix, parent_matrix[[row[pk] for pk in ids]]
        ) / np.linalg.norm(matrix, axis=1)
    finally:
        scratch.delete()
    n = len(items)
    print(
        table(
            ["path", "texts/s", "seconds", "vs bare fp32"],
            [
                [
                    "bare fp32 SentenceTransformer.encode",
                    f"{n / bare_s:.1f}",
                    f"{bare_s:.2f}",
                    "1.00x",
                ],
                [
                    "int8 embedding path (encode + write)",
                    f"{n / job_s:.1f}",
                    f"{job_s:.2f}",
                    f"{bare_s / job_s:.2f}x",
                ],
            ],
            title=f"embedding {n} product texts, {os.cpu_count()} threads; int8 product vectors vs "
            f"the stored fp32 ones: cosine mean {cosines.mean():.4f}, min {cosines.min():.4f}",
        )
    )


if __name__ == "__main__":
    main()
