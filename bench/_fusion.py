"""The fusion rows of ``bench/relevance.py --store-seed N --phase fusion``: default vs tuned
hybrid on the held-out-grammar judged queries of a second store, each tuning's test-half
gain with a paired bootstrap interval.

The tunings, all chosen on the validation half of the judged queries (never the test half):

* ``best``: the best validation mean over the 77-setting grid (what ``tune_search`` did);
* ``wide``: the same over 792 settings (depths, convex fusion; the last stop's overfit);
* ``lcb``: a 20-setting grid around the defaults, a setting chosen only when the lower
  confidence bound of its per-query gain over the defaults is above zero (Bonferroni over the
  grid), else the defaults (``tune_search``'s selection now);
* ``lcb + convex``: the same grid plus the convex fusion at each of its shares (24
  settings, the Bonferroni correction counting them): a fusion that adapts to each query's
  score distributions (a hit far ahead of its list counts more), with no more parameters;
* ``lcb + synthetic``: the same with synthetic queries written from the catalogue by the
  retriever-adaptation rules (``training.ml.synthetic_queries``, their source product
  relevant) added to the validation queries, each source weighing the same.

Each query's lists (``--fusion-lists``): ``serving`` (the default), the lists serving fuses and
the ``tune_search`` job tunes on (``training.search_fusion_data``: the query prepared as
serving prepares it, BM25 full matches and partial matches, the latter fused at half the
lexical weight, the retriever's hits above the strategy's minimum cosine); or ``numpy``, in
memory like ``bench/_adapted.offline_figures`` (the numpy BM25 baseline as one lexical list, no
partial matches, the exact cosine of the raw query: what the last stop measured). Either way
fused by the tune_search job's own code.

The ceiling lines bound what any tuning can win: the best of the 77 settings chosen on the
test half itself, and the per-query oracle (each query its best setting). ``--heldout-queries
N`` adds N judged queries of the same held-out grammar over the same store
(``catalog.demo.judged_heldout.more_heldout_judged``) to its 80: the LCB rule's power grows
with the validation queries, the interval's width shrinks with the test ones.
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
    lists_source: str = "serving",
) -> dict[str, dict[str, float]]:
    """Per judged query NDCG@10 of the default fusion and of each tuning; the test queries; the
    ceilings (:func:`training.ml.search_fusion.fusion_ceiling`) on each half."""
    from bench._adapted import graded_truth
    from catalog.models import Product
    from recommend.models import Strategy
    from training import vectors
    from training.ml.encoders import encode_texts, product_text
    from training.ml.search_fusion import (
        DEFAULT_K_GRID,
        DEFAULT_SHARE_GRID,
        FusionSetting,
        QueryLists,
        fused_ids,
        fusion_ceiling,
        split_queries,
        tune_search_fusion,
    )
    from training.runners.embed import load_version_encoder
    from training.vectors import category_labels

    truth = graded_truth(rows)
    external = {pk: ext for ext, pk in products.items()}
    valid, test = split_queries(list(truth), seed=seed, valid_fraction=0.5)
    synthetic_truth = synthetic_judgments(truth, external, seed=seed, count=synthetic)
    sample_size = min(len(external), synthetic)
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
    raw_lists = {}
    for q, v in zip(queries, encode_texts(model, queries, batch_size=64), strict=True):
        similarity = unit @ v
        top = np.argsort(-similarity, kind="stable")[:100]
        lexical = index.search_scored(q, 100)
        raw_lists[q] = QueryLists(
            lexical=[external[pk] for pk, _ in lexical],
            semantic=[order_ids[i] for i in top],
            lexical_scores=[s for _, s in lexical],
            semantic_scores=[float(similarity[i]) for i in top],
        )
    if lists_source == "numpy":
        lists = raw_lists
    else:
        lists = _serving_lists(queries, external)
    log(
        f"lists: {lists_source}; queries with full lexical matches "
        f"{sum(1 for q in truth if lists[q].lexical)}, partial only "
        f"{sum(1 for q in truth if not lists[q].lexical and lists[q].partial)}, none "
        f"{sum(1 for q in truth if not lists[q].lexical and not lists[q].partial)} "
        f"(of {len(truth)} judged)"
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
        "lcb + convex": tune_search_fusion(
            v_lists, v_truth, start=default, select="lcb", wide=True
        ),
        "lcb + synthetic": tune_search_fusion(
            s_lists, s_truth, start=default, select="lcb", groups=groups
        ),
    }
    log(
        f"validation: {len(valid)} judged queries, {len(synthetic_truth)} synthetic "
        f"(from {sample_size} products); test: {len(test)} judged queries"
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
    only_lexical = FusionSetting(default.rrf_k, 1.0, 0.0)
    only_semantic = FusionSetting(default.rrf_k, 0.0, 1.0)
    scores["lexical only"] = {q: ndcg(fused_ids(lists[q], only_lexical), truth[q]) for q in truth}
    scores["semantic only"] = {q: ndcg(fused_ids(lists[q], only_semantic), truth[q]) for q in truth}
    scores["BM25 (numpy)"] = {q: ndcg(raw_lists[q].lexical, truth[q]) for q in truth}
    scores["plain embedding"] = {q: ndcg(raw_lists[q].semantic, truth[q]) for q in truth}
    grid = [FusionSetting.from_share(k, s) for k in DEFAULT_K_GRID for s in DEFAULT_SHARE_GRID]
    ceilings = {
        half: fusion_ceiling({q: lists[q] for q in qs}, {q: truth[q] for q in qs}, grid, K)
        for half, qs in (("validation", valid), ("test", test))
    }
    return scores, test, ceilings


def synthetic_judgments(
    truth, external: dict[int, str], *, seed: int, count: int
) -> dict[str, dict[str, float]]:
    """Synthetic validation queries: a seeded sample of ``count`` of the catalogue's products,
    one query per rule each (``training.ml.synthetic_queries``), a query kept once (its source
    product the relevant one), never a judged query; ``count`` of them at most."""
    from training.ml.synthetic_queries import synthesize_pairs
    from training.synthetic_data import catalog_items

    items = [i for i in catalog_items() if i.id in external]
    sample = random.Random(seed).sample(items, min(len(items), count))
    found: dict[str, dict[str, float]] = {}
    for pair in synthesize_pairs(sample, seed=seed):
        if pair.query not in truth and pair.query not in found:
            found[pair.query] = {external[pair.product_id]: 1.0}
    chosen = sorted(found)
    random.Random(seed).shuffle(chosen)
    return {q: found[q] for q in chosen[:count]}


def _serving_lists(queries, external: dict[int, str]):
    """Each query's lists as serving retrieves them (ids as external ids)."""
    from dataclasses import replace

    from recommend import selectors
    from recommend.models import Strategy
    from training.ml.search_fusion import QueryLists
    from training.search_fusion_data import search_query_lists

    # the default strategy as a new row has it (its minimum cosine included)
    strategy = replace(
        selectors.default_strategy("search"),
        **{
            name: Strategy._meta.get_field(name).default
            for name in ("rrf_k", "lexical_weight", "semantic_weight", "semantic_min_score")
        },
    )
    found = search_query_lists(queries, strategy=strategy)

    def ext(ids, scores):
        kept = [
            (external[pk], s) for pk, s in zip(ids, scores or (), strict=True) if pk in external
        ]
        return [i for i, _ in kept], [s for _, s in kept]

    out = {}
    for q in queries:
        got = found.get(q, QueryLists(lexical=[], lexical_scores=[], semantic_scores=[]))
        lexical, lexical_scores = ext(got.lexical, got.lexical_scores)
        partial, partial_scores = ext(got.partial, got.partial_scores)
        semantic, semantic_scores = ext(got.semantic, got.semantic_scores)
        out[q] = QueryLists(
            lexical=lexical,
            partial=partial,
            semantic=semantic,
            lexical_scores=lexical_scores,
            partial_scores=partial_scores,
            semantic_scores=semantic_scores,
        )
    return out


def print_fusion_report(scores, test, *, title: str, ceilings=None) -> None:
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
    default_test = float(np.mean([scores["hybrid default"][q] for q in test]))
    for half, ceiling in (ceilings or {}).items():
        b = ceiling.best
        print(
            f"ceiling on the {half} half ({ceiling.queries} queries, chosen on those very "
            f"queries): best setting of the 77 (k x share) NDCG@{K} {ceiling.best_ndcg:.4f} (k {b.rrf_k}, "
            f"lexical share {b.share:.2f}), per-query oracle {ceiling.oracle_ndcg:.4f}"
            + (f"; hybrid default {default_test:.4f}" if half == "test" else "")
        )
    print()


def run_fusion_phase(args, seed: int, state: dict, *, log, bm25, ndcg, started: float) -> None:
    """``--phase fusion`` of ``bench/relevance.py --store-seed``: the store written by its
    base phase, the active (base) retriever's vectors."""
    import time

    from bench._adapted import store_rows
    from training import selectors

    if args.phase == "fusion-learned":
        from bench._fusion_learned import run_learned_phase

        return run_learned_phase(args, seed, state, log=log, started=started)
    rows, products = store_rows(seed, state["products"], more=args.heldout_queries or 0)
    scores, test, ceilings = fusion_figures(
        rows,
        products,
        selectors.active_version("retriever"),
        seed=args.seed,
        synthetic=args.synthetic_queries,
        log=log,
        bm25=bm25,
        ndcg=ndcg,
        lists_source=args.fusion_lists,
    )
    print_fusion_report(
        scores,
        test,
        ceilings=ceilings,
        title=f"demo store seed {seed} ({len(products)} active products, no logs), base "
        f"encoder, {len(scores['BM25 (numpy)'])} held-out-grammar judged queries "
        f"({args.heldout_queries} beyond the store's), {args.fusion_lists} lists, split "
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
