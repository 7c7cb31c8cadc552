"""The synthetic-query adaptation rows of ``bench/relevance.py`` (``--store-seed``).

A demo store generated with a given seed (catalogue only: no shoppers, no events, so no logs
to mine) is written into the bench database with its categories, brands and attributes; its
judged queries are those of the held-out grammar (``catalog.demo.judged_heldout``), which
share no frame with the demo's query frames nor with the synthesis rules. The base encoder
is measured first; then the real ``finetune_retriever`` job (``pairs=synthetic``: queries
written from the catalogue, hard negatives from the base retriever) fine-tunes it and embeds
the catalogue, and every row is measured again with the adapted version serving the semantic
side. The difference of the hybrid rows, query by query, gets a paired bootstrap interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def store_rows(seed: int, products: int, *, more: int = 0):
    """(held-out-grammar judged rows, {external id: pk} of the active products in the
    database) of the demo store ``seed``, generated again (its catalogue is already written).
    ``more``: that many more judged queries of the same grammar beyond the store's 80
    (``catalog.demo.judged_heldout.more_heldout_judged``: 80 queries cannot tell a gain of
    0.01 NDCG@10 from chance)."""
    from catalog.demo import generate_store
    from catalog.demo.judged_heldout import more_heldout_judged
    from catalog.models import Product

    store = generate_store(products=products, shoppers=0, days=1, seed=seed)
    ids = dict(Product.objects.filter(active=True).values_list("external_id", "pk"))
    rows = list(store.extras["judged_heldout"]["relevance"])
    if more:
        rows += more_heldout_judged(store, count=more, seed=seed)["relevance"]
    return rows, ids


def graded_truth(rows) -> dict[str, dict[str, float]]:
    """``{query: {product external id: grade}}`` of judged rows (a pair judged twice keeps its
    higher grade)."""
    truth: dict[str, dict[str, float]] = {}
    for row in rows:
        graded = truth.setdefault(row["query"], {})
        graded[row["product_id"]] = max(graded.get(row["product_id"], 0.0), float(row["grade"]))
    return truth


def load_store(seed: int, products: int, log: Callable[[str], None], *, title_only=False):
    """Write the catalogue of the demo store ``seed`` into the (emptied) bench database;
    returns what :func:`store_rows` returns. ``title_only``: every description and attribute
    left out (a short, title-only catalogue, where lexical matching is strong: the judged
    queries and their grades stay those of the full store)."""
    from catalog.demo import generate_store
    from catalog.services.demo import _demo_store_write, catalog_truncate

    started = time.perf_counter()
    store = generate_store(products=products, shoppers=0, days=1, seed=seed)
    if title_only:
        for product in store.products:
            product["description"], product["attributes"] = "", {}
    catalog_truncate()
    _demo_store_write(store)
    log(
        f"store seed {seed}: {len(store.products)} products written in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return store_rows(seed, products)


def adapt(
    version,
    *,
    seed: int,
    max_pairs: int,
    epochs: int,
    batch_size: int,
    log: Callable[[str], None],
    max_seq_len: int = 64,
):
    """The ``finetune_retriever`` job with synthetic pairs from ``version``; the new version."""
    from training import services

    params = {
        "pairs": "synthetic",
        "base_version": version.pk,
        "mode": "full",
        "epochs": epochs,
        "batch_size": batch_size,
        "hard_negatives": True,
        "max_pairs": max_pairs,
        "max_seq_len": max_seq_len,
        "min_pairs": 10,
        "seed": seed,
        "device": "cpu",
        "name": f"synthetic-query fine-tune (bench, seed {seed})",
    }
    started = time.perf_counter()
    job = services.job_run(job_id=services.job_launch(kind="finetune_retriever", params=params).pk)
    if job.status != "succeeded":
        raise SystemExit(f"finetune_retriever {job.status}: {job.error}")
    for line in (job.log or "").splitlines():
        log(f"job: {line}")
    log(f"fine-tune job: {time.perf_counter() - started:.0f} s")
    return job.result_version


K = 10


def offline_figures(
    rows,
    products: dict[str, int],
    versions: dict,
    *,
    seed: int,
    log: Callable[[str], None],
    bm25,
    ndcg,
) -> dict[str, dict[str, float]]:
    """Per-query NDCG@10 of rows computed in memory (no serving pipeline: seconds, not
    minutes, on a busy CPU): BM25 (numpy), and for each ``versions`` label the exact-cosine
    embedding search over the version's stored vectors, and the RRF hybrid of the two lists
    with the strategy's default fusion and with the fusion ``tune_search`` chooses on the
    validation half (``fused_ids`` / ``tune_search_fusion``, the job's own code). ``bm25``
    and ``ndcg`` are ``bench.relevance``'s baseline class and metric."""
    from catalog.models import Product
    from recommend.models import Strategy
    from training import vectors
    from training.ml.encoders import encode_texts, product_text
    from training.ml.search_fusion import (
        FusionSetting,
        QueryLists,
        fused_ids,
        split_queries,
        tune_search_fusion,
    )
    from training.runners.embed import load_version_encoder
    from training.vectors import category_labels

    truth = graded_truth(rows)
    external = {pk: ext for ext, pk in products.items()}
    categories = category_labels()
    texts = {
        pk: product_text(title, brand, categories.get(category), description)
        for pk, title, brand, category, description in Product.objects.filter(
            pk__in=products.values()
        ).values_list("pk", "title", "brand__name", "category_id", "description")
    }
    ids = sorted(texts)
    index = bm25(ids, [texts[pk] for pk in ids])
    lexical_scored = {q: index.search_scored(q, 100) for q in truth}
    lexical = {q: [external[pk] for pk, _ in lexical_scored[q]] for q in truth}
    field = {f.name: f.default for f in Strategy._meta.get_fields() if hasattr(f, "default")}
    default = FusionSetting(field["rrf_k"], field["lexical_weight"], field["semantic_weight"])
    valid, _test = split_queries(list(truth), seed=seed, valid_fraction=0.5)
    scores: dict[str, dict[str, float]] = {
        "BM25 (numpy)": {q: ndcg(lexical[q], truth[q]) for q in truth}
    }
    for label, version in versions.items():
        model = load_version_encoder(version, "cpu")
        vector_ids, matrix = vectors.load_vectors(version.pk)
        keep = [i for i, pk in enumerate(vector_ids) if pk in external]
        matrix = matrix[keep]
        order_ids = [external[vector_ids[i]] for i in keep]
        unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        queries = list(truth)
        qv = encode_texts(model, queries, batch_size=64)
        semantic, cosines = {}, {}
        for q, v in zip(queries, qv, strict=True):
            similarity = unit @ v
            top = np.argsort(-similarity, kind="stable")[:100]
            semantic[q] = [order_ids[i] for i in top]
            cosines[q] = [float(similarity[i]) for i in top]
        lists = {
            q: QueryLists(
                lexical=lexical[q],
                semantic=semantic[q],
                lexical_scores=[score for _, score in lexical_scored[q]],
                semantic_scores=cosines[q],
            )
            for q in truth
        }
        tuned = tune_search_fusion(
            {q: lists[q] for q in valid}, {q: truth[q] for q in valid}, start=default
        ).chosen
        wide = tune_search_fusion(
            {q: lists[q] for q in valid}, {q: truth[q] for q in valid}, start=default, wide=True
        )
        log(
            f"{label}: tuned on {len(valid)} validation queries: k {tuned.rrf_k}, lexical "
            f"{tuned.lexical_weight:g}, semantic {tuned.semantic_weight:g}; wide: "
            f"{wide.chosen.as_dict()} (validation NDCG@{K} {wide.ndcg:.4f} vs "
            f"{wide.start_ndcg:.4f} default, {len(wide.tried)} settings)"
        )
        scores[f"plain embedding ({label})"] = {q: ndcg(semantic[q], truth[q]) for q in truth}
        scores[f"hybrid default ({label})"] = {
            q: ndcg(fused_ids(lists[q], default), truth[q]) for q in truth
        }
        scores[f"hybrid tuned ({label})"] = {
            q: ndcg(fused_ids(lists[q], tuned), truth[q]) for q in truth
        }
        scores[f"hybrid tuned wide ({label})"] = {
            q: ndcg(fused_ids(lists[q], wide.chosen), truth[q]) for q in truth
        }
    return scores


def print_store_report(
    scores: dict[str, dict[str, float]],
    *,
    pipeline: dict[str, dict[str, float]],
    seed: int,
    split_seed: int,
    title: str,
) -> None:
    """The store's table (all queries, test half) and the paired bootstrap intervals of the
    adapted rows minus the base rows, and of tuned minus default fusion."""
    from bench._serving import table
    from training.ml.metrics import paired_bootstrap
    from training.ml.search_fusion import split_queries

    _valid, test = split_queries(list(scores["BM25 (numpy)"]), seed=split_seed, valid_fraction=0.5)
    rows = []
    for name, values in pipeline.items():
        if not name.startswith(("lexical", "semantic", "hybrid")) or not values:
            continue  # the pipeline's rows (--pipeline); the baselines are recomputed below
        in_test = [values[q] for q in test if q in values]
        rows.append(
            [
                f"pipeline: {name} (base)",
                float(np.mean(list(values.values()))),
                float(np.mean(in_test)) if in_test else None,
            ]
        )
    for name, values in scores.items():
        rows.append(
            [name, float(np.mean(list(values.values()))), float(np.mean([values[q] for q in test]))]
        )
    print()
    print(
        table(
            ["method", f"NDCG@{K} all queries", f"NDCG@{K} test half"],
            rows,
            title=f"{title}: {len(scores['BM25 (numpy)'])} held-out-grammar judged queries "
            f"({len(test)} in the test half)",
        )
    )
    pairs = [
        ("hybrid default (adapted)", "hybrid default (base)"),
        ("hybrid tuned (adapted)", "hybrid tuned (base)"),
        ("plain embedding (adapted)", "plain embedding (base)"),
        ("hybrid tuned (base)", "hybrid default (base)"),
        ("hybrid tuned wide (base)", "hybrid default (base)"),
        ("hybrid tuned wide (adapted)", "hybrid default (adapted)"),
    ]
    for better, worse in pairs:
        if better not in scores or worse not in scores:
            continue  # no adapted version (a base-only comparison of the fusions)
        for part, queries in (("all", sorted(scores[better])), ("test half", test)):
            mean, low, high = paired_bootstrap(
                [scores[better][q] for q in queries], [scores[worse][q] for q in queries]
            )
            verdict = "above zero" if low > 0 else ("below zero" if high < 0 else "contains zero")
            print(
                f"{better} - {worse} ({part}, {len(queries)} queries): {mean:+.4f} NDCG@{K}, "
                f"95% paired bootstrap [{low:+.4f}, {high:+.4f}] ({verdict})"
            )
    print()
