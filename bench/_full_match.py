"""``bench/relevance.py --full-match``: the served lexical-only (BM25F) and default hybrid rows
(full matches hold every query word the catalogue knows) beside the same rows served with the
old full matches (every query word, ``PostgresLexicalIndex(full_match="every_word")``), in the
same run, with the paired bootstrap interval of each difference. CSV mode (the demo store's
judged queries), or ``--store-seed N --phase base`` (a second store's held-out grammar)."""

from __future__ import annotations

import time
from dataclasses import replace

from bench._paired import print_paired
from bench._serving import reset_serving_caches, table

K = 10
#: An every-word row -> (its served counterpart, the lexical retriever's options).
EVERY_WORD_ROWS = {
    "lexical only (BM25F, every word)": (
        "lexical only (BM25F)",
        {"scoring": "bm25f", "full_match": "every_word"},
    ),
    "hybrid (default, every word)": ("hybrid (default)", {"full_match": "every_word"}),
}
ROWS = {*EVERY_WORD_ROWS, *(served for served, _ in EVERY_WORD_ROWS.values())}


def add_argument(parser) -> None:
    parser.add_argument(
        "--full-match",
        action="store_true",
        help="score only the lexical-only (BM25F) and default hybrid rows beside the same rows "
        "with the old full matches (every query word): bench/_full_match.py",
    )


def variants(base) -> dict:
    """The every-word rows' strategies (ids of their own: results are cached per strategy)."""
    return {
        "lexical only (BM25F, every word)": (replace(base, id=-10, semantic_weight=0.0), None),
        "hybrid (default, every word)": (replace(base, id=-11), None),
    }


def lexical_options(name: str, lexical_rows: dict[str, str]) -> dict:
    """The lexical retriever's options for the pipeline row ``name``."""
    if name in lexical_rows:
        return {"scoring": lexical_rows[name]}
    return EVERY_WORD_ROWS[name][1] if name in EVERY_WORD_ROWS else {}


def print_rows(result: dict, *, title: str) -> None:
    """Each served row beside its every-word counterpart, and the paired interval."""
    per_query = result["per_query"]
    names = [name for old, (new, _) in EVERY_WORD_ROWS.items() for name in (new, old)]
    means = [[n, sum(per_query[n].values()) / len(per_query[n])] for n in names]
    print(table(["method", f"NDCG@{K} all queries"], means, title=title))
    for old, (new, _options) in EVERY_WORD_ROWS.items():
        print_paired(per_query, new, old)


def print_store_rows(result: dict, seed: int) -> None:
    print_rows(
        result,
        title=f"demo store seed {seed}: {result['queries']} held-out-grammar judged queries "
        f"over {result['products']} products",
    )


def run_csv(args, rows, evaluate) -> None:
    """CSV mode: ``evaluate`` (``bench.relevance``) on the judged rows, these rows only."""
    started = time.perf_counter()
    result = evaluate(
        rows,
        encoder_base=args.encoder,
        batch_size=args.batch_size,
        seed=args.seed,
        log=lambda m: print(f"  {m}", flush=True),
        only=set(ROWS),
        latency=False,
    )
    print_rows(
        result,
        title=f"{args.path}: {result['queries']} judged queries over {result['products']} "
        f"products ({time.perf_counter() - started:.0f} s)",
    )
    reset_serving_caches()
