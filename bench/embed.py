"""Embedding job throughput: bare ``SentenceTransformer.encode`` vs the ``embed_catalog`` path.

In one process on one device, over the same N product texts:

- **bare encode**: ``model.encode(texts, batch_size=B, normalize_embeddings=True)`` — vectors in
  memory, nothing written;
- **embed_catalog path**: ``training.vectors.embed_and_write`` — the job's encoder
  (``training.ml.encoders.encode_texts``: length-sorted batches, tokenisation overlapped with the
  forward pass, fp16 on CUDA) with the binary COPY + upsert into ``training_productembedding``
  overlapped on the calling thread;
- the version's HNSW index build, reported separately.

Rounds alternate them so a noisy neighbour hits all alike; figures are medians. Budgets
(issue 19 §3): the fp32 job ≥ 1.0× bare fp32 encode on CPU (vector writes included), ≥ 2× on a
GPU; the int8 job ≥ 1.5× bare fp32 encode on CPU.

``--encoder fp32,int8 --int8-artifact DIR`` adds the int8 encoder's job path, printed beside the
fp32 one, with its quality next to its speed: the mean and minimum cosine of its vectors to the
fp32 vectors of the same texts. The int8 encoder is loaded by ``training.ml.encoders.
load_encoder(DIR)`` (the quantise job's artifact; NDCG@10 of the judged queries is that job's
evaluation, shown in the admin).

Texts: the development catalogue's active products (title, brand, category, description — what
the job embeds), or ``--synthetic`` product titles. Everything is written inside a transaction
that is rolled back: the development data is never changed.

    .venv/bin/python bench/embed.py                         # the dev catalogue, auto device
    .venv/bin/python bench/embed.py --synthetic --n 20000 --device cuda --batch-size 512
    .venv/bin/python bench/embed.py --encoder fp32,int8 --int8-artifact artifacts/retriever-7-int8
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ADJECTIVES = [
    "Wireless",
    "Organic",
    "Stainless Steel",
    "Compact",
    "Waterproof",
    "Vintage",
    "Ergonomic",
    "Slim",
    "Heavy-Duty",
    "Cotton",
    "Leather",
    "Lightweight",
    "Premium",
    "Classic",
    "Foldable",
    "Smart",
]
NOUNS = [
    "Running Shoes",
    "Rain Jacket",
    "Over-Ear Headphones",
    "Coffee Grinder",
    "Hiking Backpack",
    "Desk Lamp",
    "Yoga Mat",
    "Espresso Machine",
    "Water Bottle",
    "Camping Tent",
    "Office Chair",
    "Blender",
    "Sunglasses",
    "Wool Socks",
    "Phone Case",
    "Cast Iron Pan",
    "Bluetooth Speaker",
    "Kids Raincoat",
    "Teddy Bear",
]
BRANDS = ["Voltic", "Casavia", "Stride", "Lumen", "Northwind", "Kettleby", "Auralis", "Brewhaus"]


class _Rollback(Exception):
    pass


def synthetic_titles(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.randint(1, 999)}"
        for _ in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help="products (default: the whole dev catalogue, "
        "or 5000 synthetic titles when it is empty)",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="synthetic product titles instead of the catalogue"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--encoder",
        default="fp32",
        help="comma-separated job encoders to time against bare fp32 encode: fp32, int8",
    )
    parser.add_argument("--int8-artifact", help="the int8 encoder's directory (--encoder int8)")
    args = parser.parse_args()
    encoders = [e.strip() for e in args.encoder.split(",") if e.strip()]
    if not set(encoders) <= {"fp32", "int8"}:
        parser.error("--encoder takes fp32 and/or int8")
    if "int8" in encoders and not args.int8_artifact:
        parser.error("--encoder int8 needs --int8-artifact DIR (the quantise job's artifact)")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    if not os.environ.get("DATABASE_URL"):
        from platform_core.embedded import export_environment

        export_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from catalog.models import Product
    from training import vectors
    from training.ml.device import pick_device
    from training.ml.encoders import encode_texts, load_encoder, text_hash
    from training.models import ModelVersion, Task

    device = pick_device(args.device)
    model = load_encoder(None, settings.DEFAULT_ENCODER, device)
    models = {"fp32": model}
    if "int8" in encoders:
        models["int8"] = load_encoder(args.int8_artifact, settings.DEFAULT_ENCODER, "cpu")
    print(
        f"device: {device.name}; model {settings.DEFAULT_ENCODER}; batch size {args.batch_size}; "
        f"job encoders: {', '.join(encoders)}"
    )

    results: dict[str, list[float]] = {"bare": [], "index": []}
    for name in encoders:
        results |= {f"path {name}": [], f"ratio {name}": [], f"write {name}": []}
    quality: dict[str, float] = {}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            items = vectors.active_product_texts() if not args.synthetic else vectors.ProductTexts()
            read_s = time.perf_counter() - started
            n = args.n or (len(items) if len(items) else 5000)
            if args.synthetic or len(items) < n:
                source = "synthetic titles"
                titles = synthetic_titles(n)
                created = Product.objects.bulk_create(
                    [
                        Product(
                            external_id=f"bench-embed-{i}", title=t, price=1, needs_embedding=False
                        )
                        for i, t in enumerate(titles)
                    ],
                    batch_size=5000,
                )
                items = vectors.ProductTexts(
                    [p.pk for p in created], titles, [text_hash(t) for t in titles]
                )
            else:
                source = "dev catalogue (title | brand | category | description)"
                items = items.subset(range(n))
            texts = items.texts
            mean_chars = sum(map(len, texts)) / len(texts)
            print(
                f"{len(texts)} texts from the {source}; mean {mean_chars:.0f} characters; "
                f"reading them took {read_s:.2f} s"
            )
            warm = texts[: min(256, len(texts))]
            model.encode(
                warm, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            for each in models.values():  # the job's encode (an int8 ONNX encoder has no .encode)
                encode_texts(each, warm, batch_size=args.batch_size)
            if "int8" in encoders:
                quality = _agreement(models["fp32"], models["int8"], texts[:1024], args.batch_size)
            for round_number in range(args.rounds):
                t0 = time.perf_counter()
                model.encode(
                    texts,
                    batch_size=args.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                bare = time.perf_counter() - t0
                results["bare"].append(len(texts) / bare)
                figures = [f"bare fp32 {len(texts) / bare:,.0f}/s"]
                for name in encoders:
                    version = ModelVersion.objects.create(
                        task=Task.RETRIEVER,
                        name=f"bench round {round_number} {name}",
                        base=settings.DEFAULT_ENCODER,
                        dimension=384,
                        status=ModelVersion.Status.TRAINING,
                    )
                    stats = vectors.embed_and_write(
                        models[name], version.pk, items, batch_size=args.batch_size
                    )
                    results[f"path {name}"].append(len(texts) / stats.total_s)
                    results[f"ratio {name}"].append(bare / stats.total_s)
                    results[f"write {name}"].append(stats.write_s)
                    figures.append(
                        f"{name} job {len(texts) / stats.total_s:,.0f}/s (write {stats.write_s:.2f}"
                        f" s, written {stats.written})"
                    )
                    if name == encoders[0]:
                        results["index"].append(vectors.ensure_hnsw_index(version.pk, 384))
                print(f"  round {round_number + 1}: " + ", ".join(figures))
            raise _Rollback
    except _Rollback:
        pass

    bare = statistics.median(results["bare"])
    where = "CUDA" if device.is_cuda else "CPU"
    targets = {"fp32": 2.0 if device.is_cuda else 1.0, "int8": 1.5}
    print()
    print(f"{'':40}{'texts/s':>10}{'× bare fp32':>14}   target")
    print(f"{'bare SentenceTransformer.encode, fp32':40}{bare:>10,.0f}{1.0:>14.2f}")
    for name in encoders:
        path = statistics.median(results[f"path {name}"])
        ratio = statistics.median(results[f"ratio {name}"])
        rounds = ", ".join(f"{r:.2f}" for r in results[f"ratio {name}"])
        print(
            f"{f'{name} embedding job (encode + write)':40}{path:>10,.0f}{ratio:>14.2f}   "
            f"≥ {targets[name]}× on {where} (rounds {rounds}; write "
            f"{statistics.median(results[f'write {name}']):.2f} s, overlapped)"
        )
    if quality:
        print(
            f"{'int8 vs fp32 vectors, cosine':40}mean {quality['mean']:.4f}, min "
            f"{quality['min']:.4f} over {quality['n']} texts"
        )
    print(
        f"{'HNSW index build, median':40}{statistics.median(results['index']):>9.2f}s"
        "   (separate, not in the ratios)"
    )
    print("(all writes rolled back; the development data is unchanged)")


def _agreement(fp32, int8, texts: list[str], batch_size: int) -> dict[str, float]:
    """How far the int8 encoder's vectors are from the fp32 ones on the same texts."""
    from training.ml.encoders import encode_texts

    a = encode_texts(fp32, texts, batch_size=batch_size)
    b = encode_texts(int8, texts, batch_size=batch_size)
    cosines = (a * b).sum(axis=1)
    return {"mean": float(cosines.mean()), "min": float(cosines.min()), "n": len(texts)}


if __name__ == "__main__":
    main()
