"""``python -m catalog.demo [OUT_DIR] [--products N --shoppers N --days N --seed N]``.

Generates a demo store, prints its size and the generation time, and writes the hidden
truth files into OUT_DIR when given.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from catalog.demo import generate_store, write_truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m catalog.demo")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--shoppers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    c0 = time.process_time()
    store = generate_store(
        products=args.products, shoppers=args.shoppers, days=args.days, seed=args.seed
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    types = Counter(e["type"] for e in store.events)
    print(
        f"{len(store.products)} products, {len(store.shoppers)} shoppers, "
        f"{len(store.events)} events in {wall:.1f}s wall / {cpu:.1f}s CPU"
    )
    print(dict(types))
    if args.out:
        for name, path in write_truth(store, args.out).items():
            print(f"{name}: {path}")


if __name__ == "__main__":
    main()
