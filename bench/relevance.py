"""Search relevance on a judged dataset: NDCG@10 of every retrieval mode, side by side.

    .venv/bin/python bench/relevance.py PATH [--batch-size 64]

PATH is a CSV with the header ``query,product_id,title,description,grade`` (``product_id`` an
external id, ``grade`` 0-3), such as the demo store's held-out truth
(``.data/demo/relevance.csv`` after ``manage.py demo_store``). The products are imported into a
database of their own (``aisle_bench_relevance``, emptied first; never the development
catalogue; ``--reuse`` keeps the previous run's products and vectors), embedded with the
packaged MiniLM (or the model ``--encoder`` names), and each query is run through:

* the serving pipeline (typo correction, synonyms, rules, HNSW / exact planning) as
  **lexical only**, **semantic only**, **hybrid** (RRF) and **hybrid + the active ranker** of
  the development database (n/a when none is active);
* and two plain baselines computed in the same run on the same texts: **BM25** (Okapi, k1 1.2,
  b 0.75, in numpy) and a **plain embedding** search (exact cosine over the same vectors, raw
  query, no threshold).

NDCG@10 uses the grades as gains (2^g - 1), averaged over the queries.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import reset_serving_caches, setup_django, table

DATABASE = "aisle_bench_relevance"
K = 10
METHODS = (
    "lexical only",
    "semantic only",
    "hybrid",
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
    product_ids: dict[str, int], *, encoder_base: str, batch_size: int, log: Callable[[str], None]
):
    """Embed every product with the active retriever version (registered when missing) unless
    its vectors are already there (a re-run with ``--reuse``); build its HNSW index."""
    from catalog.models import Product
    from training import vectors
    from training.ml.encoders import encode_texts, load_encoder, product_text, text_hash
    from training.models import ModelVersion, ProductEmbedding

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
    rows = list(
        Product.objects.filter(pk__in=product_ids.values())
        .order_by("pk")
        .values_list("pk", "title", "description")
    )
    texts = [product_text(title, None, None, description) for _, title, description in rows]
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


class BM25:
    """Okapi BM25 over tokenised texts (engine tokenizer + plural stripping), in numpy."""

    def __init__(
        self, ids: Sequence[int], texts: Sequence[str], k1: float = 1.2, b: float = 0.75
    ) -> None:
        from recommend.engine.explain import light_stem
        from recommend.engine.text import tokenize

        self._stem = lambda text: [light_stem(t) for t in tokenize(text)]
        self.ids = list(ids)
        docs = [Counter(self._stem(t)) for t in texts]
        self.vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
        lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
        avg = lengths.mean() if len(lengths) else 1.0
        self.tf = np.zeros((len(docs), len(self.vocab)), dtype=np.float32)
        for row, doc in enumerate(docs):
            for word, n in doc.items():
                self.tf[row, self.vocab[word]] = n
        df = (self.tf > 0).sum(axis=0)
        n_docs = len(docs)
        self.idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        self.norm = k1 * (1 - b + b * lengths / avg)
        self.k1 = k1

    def search(self, query: str, k: int) -> list[int]:
        terms = [self.vocab[w] for w in dict.fromkeys(self._stem(query)) if w in self.vocab]
        if not terms:
            return []
        tf = self.tf[:, terms]
        scores = (self.idf[terms] * tf * (self.k1 + 1) / (tf + self.norm[:, None])).sum(axis=1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [self.ids[i] for i in order if scores[i] > 0]


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
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, float | None]:
    """Import, embed and score every method on the current database (empty catalogue); with
    ``max_queries``, only the first queries of the file (and the products they judge)."""
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
    products = import_products(rows)
    external = {pk: ext for ext, pk in products.items()}
    version, model, row_of, matrix, texts = embed_products(
        products, encoder_base=encoder_base, batch_size=batch_size, log=log
    )
    retriever = VersionRef(
        id=version.pk,
        task="retriever",
        name=version.name,
        base=encoder_base,
        artifact_dir="",
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
    variants = {
        "lexical only": (replace(base, id=-1, semantic_weight=0.0), None),
        "semantic only": (replace(base, id=-2, lexical_weight=0.0), None),
        "hybrid": (replace(base, id=-3), None),
        "hybrid + ranker": (replace(base, id=-4), ranker),
    }
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
    scores: dict[str, list[float]] = defaultdict(list)
    for query, gains in truth.items():
        for name, (strategy, ranker_version) in variants.items():
            if name == "hybrid + ranker" and ranker_version is None:
                continue
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
            scores[name].append(ndcg([r["product"]["id"] for r in body["results"]], gains))
        scores["BM25 (numpy)"].append(ndcg([external[pk] for pk in bm25.search(query, K)], gains))
        order = np.argsort(-(unit @ raw_vectors[query]), kind="stable")[:K]
        scores["plain embedding"].append(ndcg([external[ids_sorted[i]] for i in order], gains))
    return {
        name: (float(np.mean(scores[name])) if scores.get(name) else None) for name in METHODS
    } | {"queries": float(len(truth)), "products": float(len(products))}


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="judged CSV: query,product_id,title,description,grade")
    parser.add_argument("--encoder", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
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
    rows = read_judged(args.path)
    setup_django(DATABASE)
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
    ranker = _development_ranker(args.ranker_version)
    started = time.perf_counter()
    result = evaluate(
        rows,
        encoder_base=args.encoder,
        ranker_artifact=ranker,
        batch_size=args.batch_size,
        log=lambda m: print(f"  {m}", flush=True),
    )
    print()
    print(
        table(
            ["method", f"NDCG@{K}"],
            [[name, result[name] if result[name] is not None else "n/a"] for name in METHODS],
            title=f"{args.path}: {int(result['queries'])} judged queries over {int(result['products'])} "
            f"products ({time.perf_counter() - started:.0f} s)",
        )
    )
    if ranker is None:
        print(
            "hybrid + ranker: n/a (no ranker version is active in the development database; "
            "--ranker-version ID picks one)"
        )
    reset_serving_caches()


if __name__ == "__main__":
    main()
