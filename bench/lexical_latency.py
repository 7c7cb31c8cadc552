"""Lexical retrieval latency: BM25 and BM25F with the term frequencies read from the stored
term counts (``Product.search_term_counts``, served) against the same scorings cut from the
vectors (``term_counts=False``, the SQL before), over the same bounded candidates; with
``--all``, also the unstemmed field scored (``+ exact``) and ``ts_rank_cd``.

    .venv/bin/python bench/lexical_latency.py [--products 100000] [--queries 500] [--all]

Writes the synthetic store of ``bench/search_latency.py`` (``bench/_synthetic_store.py``, no
vectors: none is read here) into a database of its own (``aisle_bench_lexical``, emptied first;
``--database`` names another), prepares each query as search does (typo correction,
synonyms), then times ``PostgresLexicalIndex.search_split`` (strict match, any-word fallback,
at most 1,000 candidates scored) with each scoring, rotating which one runs first. Prints
p50 / p95 / p99 in ms, how many queries returned other products or scores from the stored
counts than from the vectors (ids in order, scores within 1e-6; and exactly equal), the share
of queries that fell back to partial matches and of those whose candidates hit the 1,000
bound, with the load average (a shared CPU) before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import reset_serving_caches, setup_django, table
from bench._synthetic_store import build_store, make_queries

#: (label, scoring, term counts): each scoring from the stored counts beside its old SQL.
PAIRS = [
    ("bm25f counts", "bm25f", True),
    ("bm25f vectors", "bm25f", False),
    ("bm25 counts", "bm25", True),
    ("bm25 vectors", "bm25", False),
]
OTHERS = [("bm25_exact", "bm25_exact", False), ("bm25f_exact", "bm25f_exact", False)]
OTHERS += [("ts_rank_cd", "ts_rank_cd", False)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="aisle_bench_lexical")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--all", action="store_true", help="also the exact and ts_rank_cd ones")
    args = parser.parse_args()
    setup_django(args.database, redis_db=args.redis_db)
    from django.db import connection

    from recommend import selectors
    from recommend.engine.text import normalise
    from recommend.serving import search
    from recommend.serving.retrievers import LEXICAL_MATCH_LIMIT, PostgresLexicalIndex

    store = build_store(
        args.products,
        n_shoppers=10,
        seed=args.seed,
        log=lambda m: print(f"  {m}", flush=True),
        with_vectors=False,
    )
    reset_serving_caches()
    config = selectors.serving_config()
    texts = [
        search.prepare_query(
            normalise(q["q"], search.QUERY_MAX_CHARS), config.synonyms
        ).lexical_text
        for q in make_queries(store, args.queries, seed=args.seed)
    ]
    runs = PAIRS + (OTHERS if args.all else [])
    indexes = {
        label: PostgresLexicalIndex(scoring=scoring, term_counts=counts)
        for label, scoring, counts in runs
    }
    names = list(indexes)
    for text in texts[:20]:  # warm the buffer cache and the statistics' pages
        for index in indexes.values():
            index.search_split(text, search.MIN_CANDIDATES)
    load_before = os.getloadavg()[0]
    ms: dict[str, list[float]] = {name: [] for name in names}
    differing = {scoring: 0 for _, scoring, counts in PAIRS if counts}
    inexact = dict(differing)
    bounded = fell_back = 0
    for n, text in enumerate(texts):
        shift = n % len(names)
        results = {}
        for name in names[shift:] + names[:shift]:
            began = time.perf_counter()
            results[name] = indexes[name].search_split(text, search.MIN_CANDIDATES)
            ms[name].append((time.perf_counter() - began) * 1000)
        for scoring in differing:
            new, old = results[f"{scoring} counts"], results[f"{scoring} vectors"]
            inexact[scoring] += new != old
            differing[scoring] += not all(
                [pk for pk, _ in a] == [pk for pk, _ in b]
                and all(abs(x - y) <= 1e-6 for (_, x), (_, y) in zip(a, b, strict=True))
                for a, b in zip(new, old, strict=True)
            )
        fell_back += bool(results[names[0]][1])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM catalog_product p WHERE p.active AND "
                f"p.search_vector @@ websearch_to_tsquery('english', %s) LIMIT {LEXICAL_MATCH_LIMIT}) x",
                [text],
            )
            bounded += cursor.fetchone()[0] >= LEXICAL_MATCH_LIMIT
    print()
    print(
        table(
            ["scoring", "p50 ms", "p95 ms", "p99 ms"],
            [[name, *(float(np.percentile(v, q)) for q in (50, 95, 99))] for name, v in ms.items()],
            title=f"{args.products:,} products, {len(texts)} queries ({fell_back} fell back to "
            f"partial matches; {bounded} match every word in at least {LEXICAL_MATCH_LIMIT} "
            f"products, the bound); load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after",
        )
    )
    for scoring in differing:
        print(
            f"{scoring}: counts vs vectors, queries with other ids or scores (>1e-6): "
            f"{differing[scoring]}, not exactly equal: {inexact[scoring]}"
        )


if __name__ == "__main__":
    main()
