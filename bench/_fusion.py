"""The fusion rows of ``bench/relevance.py --store-seed N --phase fusion``: default vs tuned
hybrid on the held-out-grammar judged queries of a second store, each tuning's test-half
gain with a paired bootstrap interval.

The tunings, all chosen on the validation half of the judged queries (never the test half):

* ``best``: the best validation mean over the 77-setting grid (what ``tune_search`` did);
* ``wide``: the same over 792 settings (depths, convex fusion; the last stop's overfit);
* ``lcb``: a 20-setting grid around the defaults, a setting chosen only when the lower
  confidence bound of its per-query gain over the defaults is above zero (Bonferroni over the
  grid), else the defaults (``tune_search``'s selection now);
* ``lcb + synthetic``: the same with synthetic queries written from the catalogue by the
  retriever-adaptation rules (``training.ml.synthetic_queries``, their source product
  relevant) added to the validation queries, each source weighing the same.

In memory like ``bench/_adapted.offline_figures`` (its numbers are comparable): the lexical
list is the numpy BM25 baseline, the semantic list the exact cosine over the version's stored
vectors, fused by the tune_search job's own code.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

K = 10


def fusion_figures(
    rows,
    products: dict[str, int],
    version,
    *,
    seed: int,
    synthetic: int,
    log: Callable[[str], None],
    bm25,
    ndcg,
) -> dict[str, dict[str, float]]:
    """Per judged query NDCG@10 of the default fusion and of each tuning."""
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
    from training.ml.synthetic_queries import synthesize_pairs
    from training.runners.embed import load_version_encoder
    from training.synthetic_data import catalog_items
    from training.vectors import category_labels

    truth: dict[str, dict[str, float]] = {}
    for row in rows:
        graded = truth.setdefault(row["query"], {})
        graded[row["product_id"]] = max(graded.get(row["product_id"], 0.0), float(row["grade"]))
    external = {pk: ext for ext, pk in products.items()}
    valid, test = split_queries(list(truth), seed=seed, valid_fraction=0.5)
    # synthetic validation queries: a seeded sample of the catalogue's products, one query per
    # rule each, a query kept once (its source product the relevant one); never a judged query
    items = [i for i in catalog_items() if i.id in external]
    sample = random.Random(seed).sample(items, min(len(items), synthetic))
    synthetic_truth: dict[str, dict[str, float]] = {}
    for pair in synthesize_pairs(sample, seed=seed):
        if pair.query not in truth and pair.query not in synthetic_truth:
            synthetic_truth[pair.query] = {external[pair.product_id]: 1.0}
    chosen = sorted(synthetic_truth)
    random.Random(seed).shuffle(chosen)
    synthetic_truth = {q: synthetic_truth[q] for q in chosen[:synthetic]}
    every = {**truth, **synthetic_truth}

    categories = category_labels()
    texts = {
        pk: product_text(title, brand, categories.get(category), description)
        for pk, title, brand, category, description in Product.objects.filter(
            pk__in=products.values()
        ).values_list("pk", "title", "brand__name", "category_id", "description")
    }
    ids = sorted(texts)
    index = bm25(ids, [texts[pk] for pk in ids])
    model = load_version_encoder(version, "cpu")
    vector_ids, matrix = vectors.load_vectors(version.pk)
    keep = [i for i, pk in enumerate(vector_ids) if pk in external]
    unit = matrix[keep] / np.maximum(np.linalg.norm(matrix[keep], axis=1, keepdims=True), 1e-12)
    order_ids = [external[vector_ids[i]] for i in keep]
    queries = list(every)
    lists = {}
    for q, v in zip(queries, encode_texts(model, queries, batch_size=64), strict=True):
        similarity = unit @ v
        top = np.argsort(-similarity, kind="stable")[:100]
        lexical = index.search_scored(q, 100)
        lists[q] = QueryLists(
            lexical=[external[pk] for pk, _ in lexical],
            semantic=[order_ids[i] for i in top],
            lexical_scores=[s for _, s in lexical],
            semantic_scores=[float(similarity[i]) for i in top],
        )
    field = {f.name: f.default for f in Strategy._meta.get_fields() if hasattr(f, "default")}
    default = FusionSetting(field["rrf_k"], field["lexical_weight"], field["semantic_weight"])
    v_lists = {q: lists[q] for q in valid}
    v_truth = {q: truth[q] for q in valid}
    s_lists = {**v_lists, **{q: lists[q] for q in synthetic_truth}}
    s_truth = {**v_truth, **synthetic_truth}
    groups = {**dict.fromkeys(valid, "judged"), **dict.fromkeys(synthetic_truth, "synthetic")}
    tunings = {
        "best": tune_search_fusion(v_lists, v_truth, start=default),
        "wide": tune_search_fusion(v_lists, v_truth, start=default, wide=True),
        "lcb": tune_search_fusion(v_lists, v_truth, start=default, select="lcb"),
        "lcb + synthetic": tune_search_fusion(
            s_lists, s_truth, start=default, select="lcb", groups=groups
        ),
    }
    log(
        f"validation: {len(valid)} judged queries, {len(synthetic_truth)} synthetic "
        f"(from {len(sample)} products); test: {len(test)} judged queries"
    )
    scores = {"hybrid default": {q: ndcg(fused_ids(lists[q], default), truth[q]) for q in truth}}
    for name, result in tunings.items():
        c = result.chosen
        log(
            f"{name}: {len(result.tried)} settings -> k {c.rrf_k}, lexical {c.lexical_weight:g}, "
            f"semantic {c.semantic_weight:g}, {c.method}, depths {c.lexical_depth}/"
            f"{c.semantic_depth} (validation NDCG@{K} {result.ndcg:.4f} vs {result.start_ndcg:.4f})"
            + (f"; {result.reason}" if result.reason else "")
        )
        scores[f"hybrid tuned ({name})"] = {
            q: ndcg(fused_ids(lists[q], c), truth[q]) for q in truth
        }
    scores["BM25 (numpy)"] = {q: ndcg(lists[q].lexical, truth[q]) for q in truth}
    scores["plain embedding"] = {q: ndcg(lists[q].semantic, truth[q]) for q in truth}
    return scores, test


def print_fusion_report(scores, test, *, title: str) -> None:
    from bench._serving import table
    from training.ml.metrics import paired_bootstrap

    rows = [
        [name, float(np.mean(list(v.values()))), float(np.mean([v[q] for q in test]))]
        for name, v in scores.items()
    ]
    print()
    print(table(["method", f"NDCG@{K} all queries", f"NDCG@{K} test half"], rows, title=title))
    for name in scores:
        if not name.startswith("hybrid tuned"):
            continue
        mean, low, high = paired_bootstrap(
            [scores[name][q] for q in test], [scores["hybrid default"][q] for q in test]
        )
        verdict = "above zero" if low > 0 else ("below zero" if high < 0 else "contains zero")
        print(
            f"{name} - hybrid default (test half, {len(test)} queries): {mean:+.4f} NDCG@{K}, "
            f"95% paired bootstrap [{low:+.4f}, {high:+.4f}] ({verdict})"
        )
    print()


def run_fusion_phase(args, seed: int, state: dict, *, log, bm25, ndcg, started: float) -> None:
    """``--phase fusion`` of ``bench/relevance.py --store-seed``: the store written by its
    base phase, the active (base) retriever's vectors."""
    import time

    from bench._adapted import store_rows
    from training import selectors

    rows, products = store_rows(seed, state["products"])
    scores, test = fusion_figures(
        rows,
        products,
        selectors.active_version("retriever"),
        seed=args.seed,
        synthetic=args.synthetic_queries,
        log=log,
        bm25=bm25,
        ndcg=ndcg,
    )
    print_fusion_report(
        scores,
        test,
        title=f"demo store seed {seed} ({len(products)} active products, no logs), base "
        f"encoder, {len(scores['BM25 (numpy)'])} held-out-grammar judged queries, split "
        f"seed {args.seed} ({time.perf_counter() - started:.0f} s)",
    )


def print_lexical_rows(base: dict, seed: int, names, methods) -> None:
    """``--phase base --lexical``: the lexical scorings' pipeline rows beside the numpy BM25,
    each one's paired interval against it and against the stemmed BM25."""
    from bench._paired import print_paired
    from bench._serving import table

    print(
        table(
            ["method", f"NDCG@{K} all queries"],
            [[name, base["all"][name]] for name in methods if base["all"].get(name) is not None],
            title=f"demo store seed {seed}: {base['queries']} held-out-grammar judged "
            f"queries over {base['products']} products, the lexical scorings",
        )
    )
    for name in sorted(names):
        print_paired(base["per_query"], name, "BM25 (numpy)")
    for name in sorted(names):
        if name != "lexical only (BM25)":
            print_paired(base["per_query"], name, "lexical only (BM25)")
