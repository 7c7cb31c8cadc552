"""What a request pays when a serving process cache it meets has expired, inline vs refreshed in
the background (``platform_core.caches.TimedValue(background=...)``).

    .venv/bin/python bench/search_latency.py --scales 100000 --database aisle_lt_bench  # a store
    .venv/bin/python bench/cache_refresh.py --database aisle_lt_bench

For the spelling vocabulary's check (``recommend.serving.loaders._spell_checked``: a count and max
over the active products, every 60 s per process) and the filter statistics
(``recommend.serving.retrievers._stats``: a Redis read every 2 minutes, a recount every 10): the
call right after each expiry, ``--rounds`` times, first with the refresh inline (as before), then
in the background on the request pool; then the two builds alone. Prints p50 / max side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import percentile, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="aisle_bench_serving")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    setup_django(args.database, redis_db=args.redis_db)
    from recommend.serving import loaders, retrievers
    from recommend.serving.pool import close_pool_connections, submit

    caches = {
        "spelling vocabulary check": (loaders.spell_corrector, loaders._spell_checked),
        "filter statistics": (retrievers.filter_stats, retrievers._stats),
    }
    for read, _ in caches.values():
        read()  # a value held, as in a serving process

    def after_expiry(read, cache) -> list[float]:
        out = []
        for _ in range(args.rounds):
            cache._at -= cache.ttl + 1
            started = time.perf_counter()
            read()
            out.append((time.perf_counter() - started) * 1000)
            time.sleep(0.3)  # a background refresh finishes before the next round
        return out

    print(f"{os.getloadavg()[0]:.1f} load average; {args.rounds} expiries each")
    print(
        f"{'the read right after expiry, ms':40}{'inline p50 / max':>22}{'background p50 / max':>26}"
    )
    for name, (read, cache) in caches.items():
        figures = []
        for background in (None, submit):
            cache._background = background
            times = after_expiry(read, cache)
            figures.append(f"{percentile(times, 50):.2f} / {max(times):.2f}")
        cache._background = submit
        print(f"{name:40}{figures[0]:>22}{figures[1]:>26}")
    for name, build in (
        ("the vocabulary version query alone", loaders._vocabulary_version),
        ("the filter statistics recount alone", retrievers._compute_filter_stats),
    ):
        started = time.perf_counter()
        build()
        print(f"{name:40}{(time.perf_counter() - started) * 1000:>22.2f}")
    close_pool_connections()


if __name__ == "__main__":
    main()
