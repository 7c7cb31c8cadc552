"""Lexical retrieval latency: BM25 vs BM25F (each also with the unstemmed field scored, ``+
exact``) vs ``ts_rank_cd`` over the same bounded candidates.

    .venv/bin/python bench/lexical_latency.py [--products 100000] [--queries 500]

Writes the synthetic store of ``bench/search_latency.py`` (``bench/_synthetic_store.py``) into
a database of its own (``aisle_bench_lexical``, emptied first; ``--database`` names another),
prepares each query as search does (typo correction, synonyms), then times
``PostgresLexicalIndex.search_split`` (strict match, any-word fallback, at most 1,000 candidates
scored) with each scoring, rotating which one runs first. Prints p50 / p95 / p99 in ms and the
share of queries whose candidates hit the 1,000 bound, with the load average (a shared CPU).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import reset_serving_caches, setup_django, table
from bench._synthetic_store import build_store, make_queries

SCORINGS = ("bm25", "bm25_exact", "bm25f", "bm25f_exact", "ts_rank_cd")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="aisle_bench_lexical")
    parser.add_argument("--redis-db", type=int, default=14)
    args = parser.parse_args()
    setup_django(args.database, redis_db=args.redis_db)
    from django.db import connection

    from recommend import selectors
    from recommend.engine.text import normalise
    from recommend.serving import search
    from recommend.serving.retrievers import LEXICAL_MATCH_LIMIT, PostgresLexicalIndex

    store = build_store(
        args.products, n_shoppers=10, seed=args.seed, log=lambda m: print(f"  {m}", flush=True)
    )
    reset_serving_caches()
    config = selectors.serving_config()
    texts = [
        search.prepare_query(
            normalise(q["q"], search.QUERY_MAX_CHARS), config.synonyms
        ).lexical_text
        for q in make_queries(store, args.queries, seed=args.seed)
    ]
    indexes = {name: PostgresLexicalIndex(scoring=name) for name in SCORINGS}
    for text in texts[:20]:  # warm the buffer cache and the statistics' pages
        for index in indexes.values():
            index.search_split(text, search.MIN_CANDIDATES)
    ms: dict[str, list[float]] = {name: [] for name in SCORINGS}
    bounded = 0
    for n, text in enumerate(texts):
        shift = n % len(SCORINGS)
        names = list(SCORINGS[shift:] + SCORINGS[:shift])
        for name in names:
            began = time.perf_counter()
            indexes[name].search_split(text, search.MIN_CANDIDATES)
            ms[name].append((time.perf_counter() - began) * 1000)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM catalog_product p WHERE p.active AND "
                f"p.search_vector @@ websearch_to_tsquery('english', %s) LIMIT {LEXICAL_MATCH_LIMIT}) x",
                [text],
            )
            bounded += cursor.fetchone()[0] >= LEXICAL_MATCH_LIMIT
    import os

    print()
    print(
        table(
            ["scoring", "p50 ms", "p95 ms", "p99 ms"],
            [[name, *(float(np.percentile(v, q)) for q in (50, 95, 99))] for name, v in ms.items()],
            title=f"{args.products:,} products, {len(texts)} queries; {bounded} of them match "
            f"every word in at least {LEXICAL_MATCH_LIMIT} products (the bound); load average "
            f"{os.getloadavg()[0]:.1f}",
        )
    )


if __name__ == "__main__":
    main()
