"""Embedding job throughput: bare ``SentenceTransformer.encode`` vs the ``embed_catalog`` path.

In one process on one device, over the same N product texts:

- **bare encode**: ``model.encode(texts, batch_size=B, normalize_embeddings=True)`` — vectors in
  memory, nothing written;
- **embed_catalog path**: ``training.vectors.embed_and_write`` — the job's encoder
  (``training.ml.encoders.encode_texts``: length-sorted batches, tokenisation overlapped with the
  forward pass, fp16 on CUDA) with the binary COPY + upsert into ``training_productembedding``
  overlapped on the calling thread;
- the version's HNSW index build, reported separately.

Rounds alternate the two so a noisy neighbour hits both alike; figures are medians. Budgets
(docs/training.md): path ≥ 0.9× bare on CPU, ≥ 2× on a GPU.

Texts: the development catalogue's active products (title, brand, category, description — what
the job embeds), or ``--synthetic`` product titles. Everything is written inside a transaction
that is rolled back: the development data is never changed.

    .venv/bin/python bench/embed.py                         # the dev catalogue, auto device
    .venv/bin/python bench/embed.py --synthetic --n 20000 --device cuda --batch-size 512
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
    args = parser.parse_args()

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
    from training.ml.encoders import load_encoder, text_hash
    from training.models import ModelVersion, Task

    device = pick_device(args.device)
    model = load_encoder(None, settings.DEFAULT_ENCODER, device)
    print(f"device: {device.name}; model {settings.DEFAULT_ENCODER}; batch size {args.batch_size}")

    results: dict[str, list[float]] = {
        "bare": [],
        "path": [],
        "ratio": [],
        "write": [],
        "index": [],
    }
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
                version = ModelVersion.objects.create(
                    task=Task.RETRIEVER,
                    name=f"bench round {round_number}",
                    base=settings.DEFAULT_ENCODER,
                    dimension=384,
                    status=ModelVersion.Status.TRAINING,
                )
                stats = vectors.embed_and_write(
                    model, version.pk, items, batch_size=args.batch_size
                )
                index_s = vectors.ensure_hnsw_index(version.pk, 384)
                results["bare"].append(len(texts) / bare)
                results["path"].append(len(texts) / stats.total_s)
                results["ratio"].append(bare / stats.total_s)
                results["write"].append(stats.write_s)
                results["index"].append(index_s)
                print(
                    f"  round {round_number + 1}: bare {len(texts) / bare:,.0f}/s, path "
                    f"{len(texts) / stats.total_s:,.0f}/s (write {stats.write_s:.2f} s, "
                    f"written {stats.written}), index {index_s:.2f} s"
                )
            raise _Rollback
    except _Rollback:
        pass

    bare, path = statistics.median(results["bare"]), statistics.median(results["path"])
    target = 2.0 if device.is_cuda else 0.9
    print()
    print(f"{'':34}{'texts/s':>12}")
    print(f"{'bare SentenceTransformer.encode':34}{bare:>12,.0f}")
    print(f"{'embed_catalog path (encode+write)':34}{path:>12,.0f}")
    ratio = statistics.median(results["ratio"])
    rounds = ", ".join(f"{r:.2f}" for r in results["ratio"])
    where = "CUDA" if device.is_cuda else "CPU"
    print(
        f"{'ratio path / bare, median of rounds':34}{ratio:>12.2f}   (rounds {rounds}; target ≥ {target}× on {where})"
    )
    print(
        f"{'write (COPY + upsert), median':34}{statistics.median(results['write']):>11.2f}s   (overlapped with encoding)"
    )
    print(
        f"{'HNSW index build, median':34}{statistics.median(results['index']):>11.2f}s   (separate, not in the ratio)"
    )
    print("(all writes rolled back; the development data is unchanged)")


if __name__ == "__main__":
    main()
