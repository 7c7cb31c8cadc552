"""Embedding throughput probe: bare ``SentenceTransformer.encode`` vs ``encode_texts``.

Encodes N synthetic product titles with both, in the same process, and prints the texts per
second side by side with their ratio (the embedding-job budget: encode_texts >= 0.9x the bare
encode on CPU, >= 2x on a GPU). Rounds alternate the two so that a noisy neighbour on a
shared machine hits both alike; the figures are medians over rounds. No Django.

    .venv/bin/python bench/embed_throughput_probe.py --n 5000
    .venv/bin/python bench/embed_throughput_probe.py --n 100000 --device cuda --batch-size 512
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BRANDS = [
    "Acme",
    "Globex",
    "Initech",
    "Northwind",
    "Contoso",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
]
ADJECTIVES = [
    "Red",
    "Black",
    "Slim",
    "Classic",
    "Premium",
    "Organic",
    "Wireless",
    "Waterproof",
    "Vintage",
    "Compact",
    "Heavy-Duty",
    "Stainless Steel",
    "Lightweight",
    "Ergonomic",
    "Cotton",
    "Leather",
]
NOUNS = [
    "Running Shoes",
    "Rain Jacket",
    "Over-Ear Headphones",
    "Coffee Mug",
    "Hiking Backpack",
    "Desk Lamp",
    "Blender",
    "Sofa Cover",
    "Smart Watch",
    "Mechanical Keyboard",
    "Camping Tent",
    "Water Bottle",
    "USB-C Charger",
    "Wool Scarf",
    "Yoga Mat",
    "Air Fryer",
]
EXTRAS = [
    "Size M",
    "Size 10",
    "2-Pack",
    "500 ml",
    "for Men",
    "for Women",
    "Kids",
    "2024 Edition",
    "65W",
    "Queen",
]


def synthetic_titles(count: int, seed: int = 0) -> list[str]:
    """Product-like titles of 3 to ~20 tokens, e.g. "Acme Wireless Slim Desk Lamp, 65W, 2-Pack"."""
    rng = random.Random(seed)
    titles = []
    for _ in range(count):
        words = [rng.choice(BRANDS), *rng.sample(ADJECTIVES, rng.randint(0, 3)), rng.choice(NOUNS)]
        extras = rng.sample(EXTRAS, rng.randint(0, 3))
        if rng.random() < 0.3:
            extras.append(f"Model {rng.choice('ABCDEFX')}{rng.randint(10, 9999)}")
        titles.append(", ".join([" ".join(words), *extras]))
    return titles


def main() -> None:
    """Run the probe and print one line per method plus the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="number of titles")
    parser.add_argument("--batch-size", type=int, default=128, help="encode_texts batch size")
    parser.add_argument(
        "--encode-batch-size", type=int, default=32, help="bare encode batch size (its default)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; medians are reported"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--base", default="sentence-transformers/all-MiniLM-L6-v2")
    args = parser.parse_args()

    import numpy as np
    import torch

    from training.ml.device import pick_device
    from training.ml.encoders import encode_texts, load_encoder

    info = pick_device(args.device)
    model = load_encoder(None, args.base, info)
    texts = synthetic_titles(args.n)
    lengths = [len(ids) for ids in model.tokenizer(texts[:2000])["input_ids"]]
    print(f"device: {info.name}; torch threads: {torch.get_num_threads()}; model: {args.base}")
    print(
        f"{args.n} titles, {np.mean(lengths):.1f} tokens on average (max {max(lengths)})",
        flush=True,
    )

    def sync() -> None:
        if info.is_cuda:
            torch.cuda.synchronize()

    # Warm-up: first calls pay for allocator growth and kernel selection.
    model.encode(texts[:256], batch_size=args.encode_batch_size, normalize_embeddings=True)
    encode_texts(model, texts[:256], batch_size=args.batch_size)

    bare_rates, fast_rates, ratios = [], [], []
    cos_min = 1.0
    for round_number in range(1, args.rounds + 1):
        sync()
        started = time.perf_counter()
        reference = model.encode(
            texts, batch_size=args.encode_batch_size, normalize_embeddings=True
        )
        sync()
        bare = args.n / (time.perf_counter() - started)

        started = time.perf_counter()
        vectors = encode_texts(model, texts, batch_size=args.batch_size)
        sync()
        fast = args.n / (time.perf_counter() - started)

        cos_min = min(cos_min, float((np.asarray(reference) * vectors).sum(axis=1).min()))
        bare_rates.append(bare)
        fast_rates.append(fast)
        ratios.append(fast / bare)
        print(
            f"round {round_number}: encode {bare:8.0f}/s   encode_texts {fast:8.0f}/s   ratio {fast / bare:.2f}x",
            flush=True,
        )

    print(f"{'method':<42}{'texts/s (median)':>18}")
    print(
        f"{f'SentenceTransformer.encode (batch {args.encode_batch_size})':<42}{statistics.median(bare_rates):>18.0f}"
    )
    print(f"{f'encode_texts (batch {args.batch_size})':<42}{statistics.median(fast_rates):>18.0f}")
    print(
        f"ratio encode_texts / encode: {statistics.median(ratios):.2f}x (median of per-round ratios)"
    )
    print(f"min cosine(encode_texts, encode): {cos_min:.6f}")


if __name__ == "__main__":
    main()
