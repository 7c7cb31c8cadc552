"""Search relevance on a judged dataset: NDCG@10 of every retrieval mode, side by side.

    .venv/bin/python bench/relevance.py PATH [--batch-size 64]

PATH is a CSV with the header ``query,product_id,title,description,grade`` (``product_id`` an
external id, ``grade`` 0-3), such as the demo store's held-out truth
(``.data/demo/relevance.csv`` after ``manage.py demo_store``). The products are imported into a
database of their own (``aisle_bench_relevance``, emptied first; never the development
catalogue; ``--reuse`` keeps the previous run's products and vectors), embedded with the
packaged MiniLM (or the model ``--encoder`` names), and each query is run through:

* the serving pipeline (typo correction, synonyms, rules, HNSW / exact planning) as
  **lexical only** with the lexical retriever scoring its candidates by **BM25**, by **BM25F**
  (field-weighted occurrences) and by PostgreSQL's **ts_rank_cd** (as it did before BM25; which
  one is served: ``recommend.serving.retrievers.DEFAULT_SCORING``), **semantic only**, **hybrid (default)** (RRF with the strategy model's default
  ``k`` and weights), **hybrid (tuned)** (``k`` and weights chosen on the validation half of the
  queries, as the ``tune_search`` job chooses them) and **hybrid + the active ranker** of the
  development database (n/a when none is active);
* and two plain baselines computed in the same run on the same texts: **BM25** (Okapi, k1 1.2,
  b 0.75, in numpy) and a **plain embedding** search (exact cosine over the same vectors, raw
  query, no threshold).

NDCG@10 uses the grades as gains (2^g - 1), averaged over the queries: over all of them, and
over the test half alone (the queries the tuned fusion was not chosen on: the fair column for
"hybrid (tuned)"). The halves are a seeded split by query (``--seed``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _full_match
from bench._bm25 import BM25
from bench._paired import print_paired
from bench._serving import reset_serving_caches, setup_django, table

DATABASE = "aisle_bench_relevance"
K = 10
#: Lexical-only rows: the pipeline with the lexical retriever scoring its candidates this way.
LEXICAL_ROWS = {
    "lexical only (BM25)": "bm25",
    "lexical only (BM25F)": "bm25f",
    "lexical only (BM25 + exact)": "bm25_exact",
    "lexical only (BM25F + exact)": "bm25f_exact",
    "lexical only (ts_rank_cd)": "ts_rank_cd",
}
METHODS = (
    "lexical only (BM25)",
    "lexical only (BM25F)",
    "lexical only (BM25 + exact)",
    "lexical only (BM25F + exact)",
    "lexical only (ts_rank_cd)",
    "semantic only",
    "hybrid (default)",
    "hybrid (tuned)",
    "hybrid + ranker",
    "BM25 (numpy)",
    "plain embedding",
)


# --------------------------------------------------------------------------- data


def read_judged(path: str | Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"query", "product_id", "title", "description", "grade"} - set(
            reader.fieldnames or []
        )
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [row for row in reader if row["query"].strip() and row["product_id"].strip()]


def judgments(rows: Sequence[dict]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        out[row["query"]][row["product_id"]] = max(
            out[row["query"]].get(row["product_id"], 0.0), float(row["grade"])
        )
    return dict(out)


def import_products(rows: Sequence[dict]) -> dict[str, int]:
    """Products of the judged rows (title, description) into the current database (kept when
    exactly these products are already there)."""
    from catalog.models import Product

    seen: dict[str, dict] = {}
    for row in rows:
        seen.setdefault(row["product_id"], row)
    existing = dict(Product.objects.values_list("external_id", "pk"))
    if existing and set(existing) == set(seen):
        return existing
    Product.objects.bulk_create(
        [
            Product(
                external_id=ext,
                title=row["title"][:500],
                description=row["description"],
                price=Decimal("1.00"),
                stock=1,
                search_text="",
            )
            for ext, row in seen.items()
        ],
        batch_size=2000,
    )
    return dict(Product.objects.filter(external_id__in=list(seen)).values_list("external_id", "pk"))


def embed_products(
    product_ids: dict[str, int],
    *,
    encoder_base: str,
    batch_size: int,
    log: Callable[[str], None],
    version=None,
):
    """Embed every product with the active retriever version (registered when missing), or with
    ``version`` (a fine-tuned one), unless its vectors are already there (a re-run with
    ``--reuse``, or a fine-tune job that embedded the catalogue); build its HNSW index."""
    from catalog.models import Product
    from training import vectors
    from training.ml.encoders import encode_texts, load_encoder, product_text, text_hash
    from training.models import ModelVersion, ProductEmbedding
    from training.vectors import category_labels

    if version is not None:
        from training.runners.embed import load_version_encoder

        model = load_version_encoder(version, "cpu")
    else:
        version = ModelVersion.objects.filter(
            task="retriever", is_active=True, base=encoder_base
        ).first() or ModelVersion.objects.create(
            task="retriever",
            name=f"bench {encoder_base}",
            base=encoder_base,
            dimension=384,
            is_active=True,
            status="ready",
        )
        model = load_encoder(None, base=encoder_base, device="cpu")
    categories = category_labels()
    rows = list(
        Product.objects.filter(pk__in=product_ids.values())
        .order_by("pk")
        .values_list("pk", "title", "brand__name", "category_id", "description")
    )
    # the platform's own product text (brand and category path when the catalogue has them)
    texts = [
        product_text(title, brand, categories.get(category), description)
        for _, title, brand, category, description in rows
    ]
    if ProductEmbedding.objects.filter(model_version=version).count() == len(rows):
        ids, matrix = vectors.load_vectors(version.pk)
        log(f"reusing the {len(ids)} stored vectors")
    else:
        started = time.perf_counter()
        matrix = encode_texts(model, texts, batch_size=batch_size)
        log(f"embedded {len(texts)} products in {time.perf_counter() - started:.1f} s")
        if matrix.shape[1] != 384:
            ModelVersion.objects.filter(pk=version.pk).update(dimension=matrix.shape[1])
            version.dimension = matrix.shape[1]
        vectors.write_embeddings(
            version.pk, [pk for pk, *_ in rows], matrix, [text_hash(t) for t in texts]
        )
    vectors.ensure_hnsw_index(version.pk, matrix.shape[1])
    return (
        version,
        model,
        {pk: i for i, (pk, *_) in enumerate(rows)},
        matrix,
        {pk: t for (pk, *_), t in zip(rows, texts, strict=True)},
    )


# --------------------------------------------------------------------------- baselines


def ndcg(ranked: Sequence[str], gains: dict[str, float], k: int = K) -> float:
    from training.ml.metrics import ndcg_at_k

    return ndcg_at_k(list(ranked), gains, k)


# --------------------------------------------------------------------------- evaluation


def evaluate(
    rows: Sequence[dict],
    *,
    encoder_base: str = "sentence-transformers/all-MiniLM-L6-v2",
    ranker_artifact: str | None = None,
    batch_size: int = 64,
    max_queries: int | None = None,
    seed: int = 42,
    log: Callable[[str], None] = lambda _m: None,
    products: dict[str, int] | None = None,
    version=None,
    only: set[str] | None = None,
    latency: bool = True,
) -> dict[str, object]:
    """Import, embed and score every method on the current database (empty catalogue); with
    ``max_queries``, only the first queries of the file (and the products they judge). With
    ``products`` (external id -> pk), the catalogue is already there (a whole demo store);
    with ``version``, that retriever version (fine-tuned, embedded) serves the semantic side.
    ``only`` limits the pipeline rows to those names; ``latency=False`` skips the lexical
    latency rounds (a busy CPU: the second pass over one store needs neither)."""
    from datetime import UTC, datetime

    from recommend import selectors, services
    from recommend.selectors import ServedModels, VersionRef
    from recommend.serving import loaders, search
    from recommend.serving.cache import generations
    from recommend.serving.context import ServingContext

    truth = judgments(rows)
    if max_queries is not None:
        truth = dict(list(truth.items())[:max_queries])
        rows = [row for row in rows if row["query"] in truth]
    if products is None:
        products = import_products(rows)
    external = {pk: ext for ext, pk in products.items()}
    version, model, row_of, matrix, texts = embed_products(
        products, encoder_base=encoder_base, batch_size=batch_size, log=log, version=version
    )
    retriever = VersionRef(
        id=version.pk,
        task="retriever",
        name=version.name,
        base=version.base or encoder_base,
        artifact_dir=version.artifact_dir or "",
        dimension=version.dimension,
    )
    loaders._encoders.put(version.pk, model)  # the model loaded above serves the queries too
    services.aggregates_refresh()  # as bootstrap does: requests read them, never compute them
    ranker = None
    if ranker_artifact:
        from training.models import ModelVersion

        row = ModelVersion.objects.create(
            task="ranker", name="development ranker", artifact_dir=ranker_artifact, status="ready"
        )
        ranker = VersionRef(
            id=row.pk,
            task="ranker",
            name=row.name,
            base="",
            artifact_dir=ranker_artifact,
            dimension=None,
        )
    base = selectors.default_strategy("search")
    base_config = selectors.serving_config()
    from recommend.models import Strategy

    defaults = {
        name: Strategy._meta.get_field(name).default
        for name in ("rrf_k", "lexical_weight", "semantic_weight", "semantic_min_score")
    }
    base = replace(base, **defaults)
    variants = {
        "lexical only (BM25)": (replace(base, id=-1, semantic_weight=0.0), None),
        "lexical only (BM25F)": (replace(base, id=-7, semantic_weight=0.0), None),
        "lexical only (BM25 + exact)": (replace(base, id=-8, semantic_weight=0.0), None),
        "lexical only (BM25F + exact)": (replace(base, id=-9, semantic_weight=0.0), None),
        "lexical only (ts_rank_cd)": (replace(base, id=-6, semantic_weight=0.0), None),
        "semantic only": (replace(base, id=-2, lexical_weight=0.0), None),
        "hybrid (default)": (replace(base, id=-3), None),
        "hybrid + ranker": (replace(base, id=-4), ranker),
    } | _full_match.variants(base)
    # Queries are encoded in two batches up front (what the pipeline embeds, primed into its
    # query-vector cache; and the raw queries for the plain baseline): this measures relevance,
    # and one forward pass per query is slow on a busy CPU.
    from recommend.engine.text import normalise
    from recommend.serving import cache
    from training.ml.encoders import encode_texts

    known = loaders.known_words(retriever)
    semantic_texts = sorted(
        {
            search.prepare_query(
                normalise(q, search.QUERY_MAX_CHARS), base_config.synonyms, known
            ).semantic_text
            for q in truth
        }
    )
    for text, vector in zip(
        semantic_texts, encode_texts(model, semantic_texts, batch_size=batch_size), strict=True
    ):
        cache.query_vector(retriever.id, text, lambda _text, v=vector: v)
    raw_vectors = dict(
        zip(truth, encode_texts(model, list(truth), batch_size=batch_size), strict=True)
    )
    ids_sorted = sorted(row_of, key=row_of.get)
    bm25 = BM25(ids_sorted, [texts[pk] for pk in ids_sorted])
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    # The tuned fusion: chosen on the validation half with the tune_search job's own code.
    from training.ml.search_fusion import FusionSetting, split_queries, tune_search_fusion
    from training.search_fusion_data import search_query_lists

    valid, test = split_queries(list(truth), seed=seed, valid_fraction=0.5)
    started = time.perf_counter()
    start = FusionSetting(base.rrf_k, base.lexical_weight, base.semantic_weight)
    tuned = tune_search_fusion(
        search_query_lists(valid, strategy=base)
        if only is None or "hybrid (tuned)" in only
        else {},
        {q: {products[ext]: g for ext, g in truth[q].items() if ext in products} for q in valid},
        start=start,
    )
    chosen = tuned.chosen
    log(
        f"tuned on {len(valid)} validation queries in {time.perf_counter() - started:.0f} s: "
        f"k {chosen.rrf_k}, lexical {chosen.lexical_weight:g}, semantic "
        f"{chosen.semantic_weight:g} (validation NDCG@{K} {tuned.ndcg:.4f} vs "
        f"{tuned.start_ndcg:.4f} with the defaults)"
    )
    variants["hybrid (tuned)"] = (
        replace(
            base,
            id=-5,
            rrf_k=chosen.rrf_k,
            lexical_weight=chosen.lexical_weight,
            semantic_weight=chosen.semantic_weight,
        ),
        None,
    )
    from functools import partial

    from recommend.serving.retrievers import PostgresLexicalIndex

    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for query, gains in truth.items():
        for name, (strategy, ranker_version) in variants.items():
            if name == "hybrid + ranker" and ranker_version is None:
                continue
            if only is not None and name not in only:
                continue
            # The BM25F and ts_rank_cd rows: the same pipeline, the retriever scoring otherwise.
            options = _full_match.lexical_options(name, LEXICAL_ROWS)
            search.PostgresLexicalIndex = partial(PostgresLexicalIndex, **options)
            ctx = ServingContext(
                surface="search",
                strategy=strategy,
                models=ServedModels(retriever=retriever, ranker=ranker_version),
                config=selectors.serving_config(),
                shopper=None,
                session="",
                variant=None,
                shopper_external_id=None,
                now=datetime.now(UTC),
                simulated=False,
                generations=generations(),
            )
            body = search.search(search.SearchParams(q=query, size=K), ctx)
            scores[name][query] = ndcg([r["product"]["id"] for r in body["results"]], gains)
        search.PostgresLexicalIndex = PostgresLexicalIndex
        scores["BM25 (numpy)"][query] = ndcg([external[pk] for pk in bm25.search(query, K)], gains)
        order = np.argsort(-(unit @ raw_vectors[query]), kind="stable")[:K]
        scores["plain embedding"][query] = ndcg([external[ids_sorted[i]] for i in order], gains)

    # Lexical latency of the two scorings over the same candidates: each query's prepared
    # lexical text through search_split, alternating which runs first, three rounds.
    lexical_ms: dict[str, list[float]] = {name: [] for name in LEXICAL_ROWS.values()}
    indexes = {name: PostgresLexicalIndex(scoring=name) for name in lexical_ms}
    texts_lexical = [
        search.prepare_query(
            normalise(q, search.QUERY_MAX_CHARS), base_config.synonyms, known
        ).lexical_text
        for q in truth
    ]
    for round_ in range(3 if latency else 0):
        for n, text in enumerate(texts_lexical):
            shift = (n + round_) % len(indexes)
            order = list(indexes)[shift:] + list(indexes)[:shift]
            for name in order:
                began = time.perf_counter()
                indexes[name].search_split(text, search.MIN_CANDIDATES)
                lexical_ms[name].append((time.perf_counter() - began) * 1000)

    def mean(name: str, queries) -> float | None:
        values = [scores[name][q] for q in queries if q in scores.get(name, {})]
        return float(np.mean(values)) if values else None

    return {
        "all": {name: mean(name, truth) for name in METHODS},
        "test": {name: mean(name, test) for name in METHODS},
        "tuned": chosen.as_dict()
        | {"valid_ndcg": tuned.ndcg, "valid_ndcg_default": tuned.start_ndcg},
        "lexical_ms": {
            name: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
            for name, v in lexical_ms.items()
            if v
        },
        "per_query": {name: dict(values) for name, values in scores.items()},
        "queries": len(truth),
        "test_queries": len(test),
        "products": len(products),
    }


def _development_ranker(version_id: int | None = None) -> str | None:
    """The artifact directory of the development database's active ranker (or of the ranker
    version ``version_id``), if any."""
    import os

    import psycopg

    url = os.environ.get("AISLE_DEVELOPMENT_DATABASE_URL")
    if not url:
        return None
    try:
        with psycopg.connect(url) as conn:
            if version_id is not None:
                row = conn.execute(
                    "SELECT artifact_dir FROM training_modelversion WHERE task = 'ranker' "
                    "AND id = %s",
                    [version_id],
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT artifact_dir FROM training_modelversion WHERE task = 'ranker' "
                    "AND is_active"
                ).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row and row[0] else None


def run_store(args, seed: int) -> None:
    """A demo store of ``seed`` judged with the held-out grammar: every row with the base
    encoder (phase ``base``), the synthetic-query fine-tune (``adapt``), the semantic and
    hybrid rows again with it and the paired intervals (``adapted``). Each phase can run as a
    process of its own (a busy CPU: each stays within a few minutes); the base figures and the
    adapted version's id wait in ``DATA_DIR/bench/relevance_store_<seed>.json``."""
    import json

    from django.conf import settings

    from bench._adapted import adapt, load_store, offline_figures, print_store_report, store_rows
    from training import selectors
    from training.models import ModelVersion

    def log(message: str) -> None:
        print(f"  {message}", flush=True)

    state_path = Path(settings.DATA_DIR) / "bench" / f"relevance_store_{seed}.json"
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    phases = ("base", "adapt", "adapted") if args.phase == "all" else (args.phase,)
    common = {"batch_size": args.batch_size, "seed": args.seed, "log": log, "latency": False}
    # the rows the store phases score (the variants that fit a busy CPU; BM25F / ts_rank_cd
    # are the CSV mode's question)
    base_rows = {"lexical only (BM25)", "semantic only", "hybrid (default)", "hybrid (tuned)"}
    if args.lexical:
        base_rows = set(LEXICAL_ROWS) - {"lexical only (ts_rank_cd)"}  # the scorings side by side
    elif args.full_match:
        base_rows = set(_full_match.ROWS)
    elif not args.pipeline:
        base_rows = set()  # embed only: the in-memory rows of the adapted phase
    started = time.perf_counter()
    if args.phase in ("fusion", "fusion-learned"):  # the latter: bench/_fusion_learned.py
        from bench._fusion import run_fusion_phase

        reset_serving_caches()
        run_fusion_phase(args, seed, state, log=log, bm25=BM25, ndcg=ndcg, started=started)
        return
    if "base" in phases:
        reset_serving_caches()
        if state.get("loaded") == args.products and not args.fresh:
            rows, products = store_rows(seed, args.products)  # a re-run: vectors kept too
        else:
            ModelVersion.objects.filter(is_active=True).update(is_active=False)
            ModelVersion.objects.all().delete()
            rows, products = load_store(seed, args.products, log, title_only=args.title_only)
            state = {"loaded": args.products, "products": args.products}
            state_path.write_text(json.dumps(state))
        base = evaluate(
            rows,
            encoder_base=args.encoder,
            products=products,
            only=base_rows,
            max_queries=args.max_queries,
            **common,
        )
        state["base"] = base
        state_path.write_text(json.dumps(state))
        if args.lexical:
            from bench._fusion import print_lexical_rows

            print_lexical_rows(base, seed, base_rows, METHODS)
        if args.full_match:
            _full_match.print_store_rows(base, seed)
    if "adapt" in phases:
        version = adapt(
            selectors.active_version("retriever"),
            seed=args.seed,
            max_pairs=args.adapt_pairs,
            epochs=args.adapt_epochs,
            batch_size=args.adapt_batch_size,
            max_seq_len=args.adapt_seq_len,
            log=log,
        )
        state["adapted_version"] = version.pk
        state_path.write_text(json.dumps(state))
    if "adapted" not in phases:
        print(f"phase {args.phase} done in {time.perf_counter() - started:.0f} s")
        return
    reset_serving_caches()
    rows, products = store_rows(seed, state["products"], more=args.heldout_queries or 0)
    adapted_version = ModelVersion.objects.get(pk=state["adapted_version"])
    base_version = adapted_version.parent
    scores = offline_figures(
        rows,
        products,
        {"base": base_version, "adapted": adapted_version},
        seed=args.seed,
        log=log,
        bm25=BM25,
        ndcg=ndcg,
    )
    print_store_report(
        scores,
        pipeline=(state.get("base") or {}).get("per_query", {}),
        seed=seed,
        split_seed=args.seed,
        title=f"demo store seed {seed} ({len(products)} active products, no logs), adapted = "
        f"version #{adapted_version.pk}, {time.perf_counter() - started:.0f} s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "path", nargs="?", help="judged CSV: query,product_id,title,description,grade"
    )
    parser.add_argument(
        "--store-seed",
        type=int,
        default=None,
        help="instead of a CSV: the demo store of this seed (catalogue only, database "
        "aisle_bench_relevance_s<seed>), judged with the held-out grammar, base encoder vs the "
        "synthetic-query fine-tune (bench/_adapted.py)",
    )
    parser.add_argument(
        "--phase",
        choices=("all", "base", "adapt", "adapted", "fusion", "fusion-learned"),
        default="all",
        help="--store-seed: run one phase (each its own process on a busy CPU); fusion (after "
        "base): default vs tuned hybrid, each tuning's test-half interval (bench/_fusion.py)",
    )
    parser.add_argument(
        "--lexical",
        action="store_true",
        help="--store-seed, phase base: score the lexical scorings' pipeline rows side by side",
    )
    _full_match.add_argument(parser)
    parser.add_argument(
        "--synthetic-queries",
        type=int,
        default=300,
        help="--phase fusion: synthetic validation queries written from the catalogue",
    )
    parser.add_argument(
        "--fusion-lists",
        choices=("serving", "numpy"),
        default="serving",
        help="--phase fusion: fuse the lists serving retrieves (BM25 full and partial matches, "
        "the retriever above its minimum cosine) or the in-memory numpy BM25 and exact cosine",
    )
    parser.add_argument(
        "--heldout-queries",
        type=int,
        default=0,
        help="--phase fusion or adapted: this many more held-out-grammar judged queries",
    )
    parser.add_argument("--products", type=int, default=2000, help="--store-seed store size")
    parser.add_argument(
        "--max-queries", type=int, default=None, help="--store-seed: the first N judged queries"
    )
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="--store-seed: also score the serving pipeline's rows with the base encoder (slow)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="--store-seed: write the store again (else reused)"
    )
    parser.add_argument("--title-only", action="store_true", help="--fresh: no descriptions")
    parser.add_argument("--adapt-pairs", type=int, default=3000, help="synthetic pairs at most")
    parser.add_argument("--adapt-epochs", type=int, default=1)
    parser.add_argument("--adapt-seq-len", type=int, default=64, help="tokens per text in training")
    parser.add_argument("--adapt-batch-size", type=int, default=32)
    parser.add_argument("--encoder", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42, help="seed of the validation/test halves")
    parser.add_argument(
        "--database", default=DATABASE, help=f"benchmark database (default {DATABASE})"
    )
    parser.add_argument("--redis-db", type=int, default=None, help="Redis database to use")
    parser.add_argument(
        "--ranker-version",
        type=int,
        default=None,
        help="a development ranker version to use instead of the active one",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the products and vectors of the previous run on the same file (no re-embedding)",
    )
    args = parser.parse_args()
    if not args.path and args.store_seed is None:
        parser.error("give a judged CSV or --store-seed")
    if args.store_seed is not None and args.database == DATABASE:
        args.database = f"{DATABASE}_s{args.store_seed}"
    if args.redis_db is None:
        setup_django(args.database)
    else:
        setup_django(args.database, redis_db=args.redis_db)
    if args.store_seed is not None:
        run_store(args, args.store_seed)
        return
    rows = read_judged(args.path)
    from catalog.services.demo import catalog_truncate
    from training.models import ModelVersion

    if not args.reuse:
        catalog_truncate()
        ModelVersion.objects.filter(is_active=True).update(is_active=False)  # else refused
        ModelVersion.objects.all().delete()
    else:
        ModelVersion.objects.filter(task="ranker", is_active=True).update(is_active=False)
        ModelVersion.objects.filter(task="ranker").delete()
    reset_serving_caches()
    if args.full_match:
        return _full_match.run_csv(args, rows, evaluate)
    ranker = _development_ranker(args.ranker_version)
    started = time.perf_counter()
    result = evaluate(
        rows,
        encoder_base=args.encoder,
        ranker_artifact=ranker,
        batch_size=args.batch_size,
        seed=args.seed,
        log=lambda m: print(f"  {m}", flush=True),
    )
    print()

    def shown(value):
        return value if value is not None else "n/a"

    print(
        table(
            ["method", f"NDCG@{K} all queries", f"NDCG@{K} test half"],
            [[name, shown(result["all"][name]), shown(result["test"][name])] for name in METHODS],
            title=f"{args.path}: {result['queries']} judged queries ({result['test_queries']} in "
            f"the test half) over {result['products']} products "
            f"({time.perf_counter() - started:.0f} s)",
        )
    )
    for name, ms in result["lexical_ms"].items():
        print(f"lexical search_split ({name}): p50 {ms['p50']:.2f} ms, p95 {ms['p95']:.2f} ms")
    tuned = result["tuned"]
    print(
        f"hybrid (tuned): k {tuned['rrf_k']}, lexical {tuned['lexical_weight']:g}, semantic "
        f"{tuned['semantic_weight']:g}, chosen on the validation half (NDCG@{K} "
        f"{tuned['valid_ndcg']:.4f} vs {tuned['valid_ndcg_default']:.4f} with the defaults)"
    )
    for lexical in ("lexical only (BM25)", "lexical only (BM25 + exact)"):
        print_paired(result["per_query"], lexical, "BM25 (numpy)")
    print_paired(result["per_query"], "lexical only (BM25F + exact)", "BM25 (numpy)")
    if ranker is None:
        print(
            "hybrid + ranker: n/a (no ranker version is active in the development database; "
            "--ranker-version ID picks one)"
        )
    reset_serving_caches()


if __name__ == "__main__":
    main()
