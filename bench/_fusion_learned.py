"""``bench/relevance.py --store-seed N --phase fusion-learned --heldout-queries 320`` (after
``--phase base``; ``--synthetic-queries`` the synthetic training queries): can a
per-store fusion beat the default hybrid on the held-out-grammar judged queries, beyond the
k x share grid of ``bench/_fusion.py``?

The lists are serving's own (``training.search_fusion_data``: BM25 full and partial matches,
the retriever's 100 hits), fetched once with no minimum cosine so that the threshold can be
varied offline (the default threshold applied offline gives exactly the default hybrid: the
run checks it query by query against ``training.ml.search_fusion.fused_ids``). The judged
queries are split in halves as ``--phase fusion`` splits them (``--seed``); every selection
sees the validation half only, and each row is its test-half NDCG@10 minus the default's
with the 95 % paired bootstrap of ``training.ml.metrics``.

* **A wider fixed grid**: an RRF ``k`` per list (full matches, partial matches, semantic
  hits), the lexical share, the partial matches' weight (a fraction of the lexical weight),
  the semantic list's minimum cosine and depth (:data:`GRID`). Its ceiling, the best setting
  chosen on the test half itself, bounds what any fixed setting can win; the per-dimension
  ceilings say where the room is. Chosen on validation: the best mean, and the lower
  confidence bound rule of ``tune_search`` (Bonferroni over the whole grid).
* **A learned score fusion**: a linear score over features of each candidate that serving
  already has when it fuses (:data:`FEATURES`: each list's reciprocal rank at two ``k``, the
  BM25 score over the query's top BM25 score, the cosine, which list returned it); ranked with
  serving's tie-breaks (lists, best rank, id). It nests the default (the RRF terms at k 60
  with weights 1, 0.5, 1 are features; the cosine minus the query's top cosine would rank as
  the cosine does, a constant per query). Fit by a pairwise logistic loss (L2), the same with
  each pair weighted by its NDCG@10 change in the default's order (LambdaRank's weights), or
  by coordinate ascent on NDCG@10 from the default; "CV rule": the model fitted on all the validation
  queries only when a 5-fold cross-validation on them puts the lower bound of its gain over
  the default above zero (Bonferroni over the three fits), else the default. Then the same with
  the synthetic queries (``training.ml.synthetic_queries``, their source product relevant) as
  the only training queries: a store with no judged queries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import product as cartesian
from statistics import NormalDist

import numpy as np

K = 10
K_GRID = (10, 30, 60, 120)
SHARE_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
PARTIAL_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_COS_GRID = (0.0, 0.1, 0.2, 0.3)
DEPTH_GRID = (10, 30, 100)
#: (k full, k partial, k semantic, share, partial weight, min cosine, semantic depth)
GRID = list(cartesian(K_GRID, K_GRID, K_GRID, SHARE_GRID, PARTIAL_GRID, MIN_COS_GRID, DEPTH_GRID))
DEFAULT = (60, 60, 60, 0.5, 0.5, 0.2, 100)
LEXICAL_DEPTH = 100
FEATURES = (
    "rr10 full",
    "rr60 full",
    "rr10 partial",
    "rr60 partial",
    "rr10 semantic",
    "rr60 semantic",
    "bm25 / top bm25",
    "full match",
    "partial match",
    "cosine",
    "semantic hit",
)
#: the default hybrid as weights of :data:`FEATURES` (RRF k 60, weights 1, 0.5, 1, x 60)
DEFAULT_WEIGHTS = np.array([0, 1, 0, 0.5, 0, 1, 0, 0, 0, 0, 0], dtype=np.float64)
DISCOUNT = 1.0 / np.log2(np.arange(2, K + 2))


@dataclass
class Candidates:
    """One query's candidates: the union of its full and partial matches (cut as serving cuts
    them) and its 100 semantic hits at any cosine."""

    ids: list
    order: np.ndarray  # position in id order (the last tie-break)
    full: np.ndarray  # 1-based rank, 0 when absent
    partial: np.ndarray
    sem: np.ndarray  # rank in the unfiltered semantic list
    cos: np.ndarray  # nan when the semantic list did not return it
    bm25: np.ndarray  # nan when no lexical list did
    gain: np.ndarray  # 2^grade - 1
    ideal: float


def candidates(lists, gains: dict[Hashable, float]) -> Candidates:
    from recommend.engine.fusion import id_sort_key

    full = list(lists.lexical)[:LEXICAL_DEPTH]
    part = list(lists.partial)[: max(0, LEXICAL_DEPTH - len(full))]
    ids = list(dict.fromkeys([*full, *part, *lists.semantic]))
    at = {i: n for n, i in enumerate(ids)}
    c = len(ids)
    arrays = {name: np.zeros(c) for name in ("full", "partial", "sem")}
    cos, bm25 = np.full(c, np.nan), np.full(c, np.nan)
    for name, got, scores in (
        ("full", full, lists.lexical_scores),
        ("partial", part, lists.partial_scores),
        ("sem", list(lists.semantic), lists.semantic_scores),
    ):
        seen = set()
        for rank, (item, score) in enumerate(zip(got, scores or (), strict=False), start=1):
            if item in seen:
                continue
            seen.add(item)
            arrays[name][at[item]] = rank
            (cos if name == "sem" else bm25)[at[item]] = score
    ranked = sorted(ids, key=id_sort_key)
    order = np.array([ranked.index(i) for i in ids], dtype=np.float64)
    g = np.array([2.0 ** gains.get(i, 0.0) - 1.0 for i in ids])
    ideal_gains = sorted((v for v in gains.values() if v > 0), reverse=True)[:K]
    ideal = float(sum((2.0**v - 1.0) * DISCOUNT[n] for n, v in enumerate(ideal_gains)))
    return Candidates(
        ids, order, arrays["full"], arrays["partial"], arrays["sem"], cos, bm25, g, ideal
    )


def _semantic_ranks(cand: Candidates, min_cos: float) -> np.ndarray:
    """Ranks in the semantic list once hits below ``min_cos`` are dropped (0: absent)."""
    present = (cand.sem > 0) & (np.nan_to_num(cand.cos, nan=-2.0) >= min_cos)
    ranks = np.zeros_like(cand.sem)
    order = np.argsort(np.where(present, cand.sem, np.inf), kind="stable")
    kept = order[: int(present.sum())]
    ranks[kept] = np.arange(1, len(kept) + 1)
    return ranks


def _ndcg_of_order(cand: Candidates, top: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """NDCG@K of rows of candidate indices ``top`` (``valid``: the candidate was returned)."""
    if cand.ideal <= 0:
        return np.zeros(top.shape[0])
    gains = np.where(valid, cand.gain[top], 0.0)
    return (gains * DISCOUNT[: top.shape[1]]).sum(axis=1) / cand.ideal


def _rank_rows(score: np.ndarray, secondary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top K candidates: score descending, then ``secondary`` ascending (exact)."""
    c = score.shape[1]
    window = 3 * K
    if c <= window:
        top = np.lexsort((secondary, -score), axis=1)[:, : min(K, c)]
        return top, np.isfinite(np.take_along_axis(score, top, axis=1))
    # the window's best K in exact order; a row whose K-th score ties the window's lowest may
    # have an equal score outside it with a better tie-break: that row is sorted whole
    idx = np.argpartition(-score, window - 1, axis=1)[:, :window]
    s_w = np.take_along_axis(score, idx, axis=1)
    o = np.lexsort((np.take_along_axis(secondary, idx, axis=1), -s_w), axis=1)[:, :K]
    top = np.take_along_axis(idx, o, axis=1)
    kth = np.take_along_axis(s_w, o[:, K - 1 : K], axis=1)[:, 0]
    redo = np.nonzero(np.isfinite(kth) & (kth == s_w.min(axis=1)))[0]
    if len(redo):
        top[redo] = np.lexsort((secondary[redo], -score[redo]), axis=1)[:, :K]
    return top, np.isfinite(np.take_along_axis(score, top, axis=1))


def _weights(share: float) -> tuple[float, float]:
    from training.ml.search_fusion import FusionSetting

    setting = FusionSetting.from_share(60, float(share))
    return setting.lexical_weight, setting.semantic_weight


def grid_ndcg(cand: Candidates, grid: Sequence[tuple], chunk: int = 2048) -> np.ndarray:
    """NDCG@K of the query under every setting of ``grid`` (weighted RRF, serving's tie-breaks:
    more lists, then the best rank, then the id), in the summation order of
    ``recommend.engine.fusion`` (identical floats)."""
    out = np.zeros(len(grid))
    if not cand.ids or cand.ideal <= 0:
        return out
    by_cos = {t: _semantic_ranks(cand, t) for t in MIN_COS_GRID}
    for start in range(0, len(grid), chunk):
        part = np.array(grid[start : start + chunk], dtype=np.float64)
        kf, kp, ks, share, pw, t, depth = (part[:, i : i + 1] for i in range(7))
        # the weights as FusionSetting.from_share rounds them (identical floats)
        w_lex, w_sem = (np.array([[_weights(v)[n]] for v in share[:, 0]]) for n in (0, 1))
        w_part = w_lex * pw
        sem = np.stack([by_cos[float(v)] for v in t[:, 0]])
        sem = np.where(sem <= depth, sem, 0.0)
        full = np.broadcast_to(cand.full, sem.shape)
        partial = np.broadcast_to(cand.partial, sem.shape)
        on_f, on_p, on_s = (
            (full > 0) & (w_lex > 0),
            (partial > 0) & (w_part > 0),
            (sem > 0) & (w_sem > 0),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            score = 0.0 + np.where(on_f, w_lex / (kf + full), 0.0)
            score = score + np.where(on_p, w_part / (kp + partial), 0.0)
            score = score + np.where(on_s, w_sem / (ks + sem), 0.0)
        lists = on_f.astype(int) + on_p + on_s
        best = np.minimum(
            np.minimum(np.where(on_f, full, 999), np.where(on_p, partial, 999)),
            np.where(on_s, sem, 999),
        )
        score = np.where(lists > 0, score, -np.inf)
        secondary = (3 - lists) * 1e6 + best * 1e3 + cand.order
        top, valid = _rank_rows(score, secondary)
        out[start : start + len(part)] = _ndcg_of_order(cand, top, valid)
    return out


# --------------------------------------------------------------------------- learned fusion


@dataclass
class Served:
    """A query's served candidates (full, partial, semantic hits at the default minimum
    cosine) with their features, gains and serving's tie-break key."""

    x: np.ndarray
    gain: np.ndarray
    secondary: np.ndarray
    ideal: float


def served(cand: Candidates, min_cos: float) -> Served:
    sem = _semantic_ranks(cand, min_cos)
    keep = (cand.full > 0) | (cand.partial > 0) | (sem > 0)
    full, part, sem = cand.full[keep], cand.partial[keep], sem[keep]
    cos = cand.cos[keep]
    floor = np.nanmin(cand.cos) if np.isfinite(cand.cos).any() else 0.0
    bm25 = np.nan_to_num(cand.bm25[keep], nan=0.0)
    top = bm25.max() if bm25.size and bm25.max() > 0 else 1.0

    def rr(rank, k):
        return np.where(rank > 0, k / (k + rank), 0.0)

    x = np.column_stack(
        [
            rr(full, 10),
            rr(full, 60),
            rr(part, 10),
            rr(part, 60),
            rr(sem, 10),
            rr(sem, 60),
            bm25 / top,
            (full > 0).astype(float),
            (part > 0).astype(float),
            np.nan_to_num(cos, nan=floor),
            (sem > 0).astype(float),
        ]
    )
    lists = (full > 0).astype(int) + (part > 0) + (sem > 0)
    best = np.minimum(
        np.minimum(np.where(full > 0, full, 999), np.where(part > 0, part, 999)),
        np.where(sem > 0, sem, 999),
    )
    secondary = (3 - lists) * 1e6 + best * 1e3 + cand.order[keep]
    return Served(x, cand.gain[keep], secondary, cand.ideal)


def learned_ndcg(queries: Sequence[Served], w: np.ndarray) -> np.ndarray:
    out = np.zeros(len(queries))
    for n, q in enumerate(queries):
        if q.ideal <= 0 or not len(q.gain):
            continue
        # the default's RRF terms times 60: round off to the floats' last bits so that a tie in
        # RRF stays a tie here (serving's tie-breaks then decide, as in the default hybrid)
        score = np.round(q.x @ w, 9)
        top = np.lexsort((q.secondary, -score))[:K]
        out[n] = float((q.gain[top] * DISCOUNT[: len(top)]).sum() / q.ideal)
    return out


def fit_pairwise(
    queries: Sequence[Served], *, l2: float = 1.0, seed: int = 0, lambdas: bool = False
) -> np.ndarray:
    """Weights of a pairwise logistic loss over (better, worse) candidate pairs of each query
    (each query weighing the same, at most 2,000 pairs each), features standardised, L2.
    ``lambdas``: each pair weighs what swapping it changes NDCG@K in the default hybrid's
    order (LambdaRank's weights, once, from the default): pairs below the top K count nothing."""
    from scipy.optimize import minimize
    from scipy.special import expit

    stacked = np.vstack([q.x for q in queries if len(q.gain)])
    std = stacked.std(axis=0) + 1e-9
    rng = np.random.default_rng(seed)
    diffs, weights = [], []
    for q in queries:
        i, j = np.nonzero(q.gain[:, None] > q.gain[None, :])
        if not len(i) or q.ideal <= 0:
            continue
        if lambdas:
            position = np.empty(len(q.gain))
            position[np.lexsort((q.secondary, -np.round(q.x @ DEFAULT_WEIGHTS, 9)))] = np.arange(
                len(q.gain)
            )
            discount = np.where(position < K, 1.0 / np.log2(position + 2), 0.0)
            delta = (q.gain[i] - q.gain[j]) * np.abs(discount[i] - discount[j]) / q.ideal
            keep = np.argsort(-delta, kind="stable")[:2000]
            keep = keep[delta[keep] > 0]
            i, j, w = i[keep], j[keep], delta[keep]
        else:
            if len(i) > 2000:
                pick = rng.choice(len(i), 2000, replace=False)
                i, j = i[pick], j[pick]
            w = np.full(len(i), 1.0 / len(i))
        if len(i):
            diffs.append((q.x[i] - q.x[j]) / std)
            weights.append(w)
    if not diffs:
        return DEFAULT_WEIGHTS.copy()
    d, pw = np.vstack(diffs), np.concatenate(weights)
    pw = pw * len(weights) / pw.sum()

    def loss(beta):
        margin = d @ beta
        value = (pw * np.logaddexp(0.0, -margin)).sum() + 0.5 * l2 * beta @ beta
        grad = -(d * (pw * expit(-margin))[:, None]).sum(axis=0) + l2 * beta
        return value, grad

    beta = minimize(loss, np.zeros(d.shape[1]), jac=True, method="L-BFGS-B").x
    return beta / std


def fit_ascent(queries: Sequence[Served], *, passes: int = 3, min_gain: float = 5e-4):
    """Coordinate ascent on mean NDCG@K from the default's weights: each pass tries a few
    steps per feature (scaled by its spread), keeps the best when it gains ``min_gain``."""
    stacked = np.vstack([q.x for q in queries if len(q.gain)])
    spread = stacked.std(axis=0) + 1e-9
    w = DEFAULT_WEIGHTS.copy()
    current = learned_ndcg(queries, w).mean()
    for _ in range(passes):
        moved = False
        for j in range(len(w)):
            best_step, best_value = 0.0, current
            for step in (-0.8, -0.4, -0.2, -0.1, 0.1, 0.2, 0.4, 0.8):
                trial = w.copy()
                trial[j] += step / spread[j]
                value = learned_ndcg(queries, trial).mean()
                if value > best_value + min_gain:
                    best_step, best_value = step, value
            if best_step:
                w[j] += best_step / spread[j]
                current, moved = best_value, True
        if not moved:
            break
    return w


FITS: dict[str, Callable] = {
    "pairwise logistic": fit_pairwise,
    "pairwise, NDCG-weighted": lambda queries: fit_pairwise(queries, lambdas=True),
    "coordinate ascent": fit_ascent,
}


def cv_rule(queries: Sequence[Served], fit, *, seed: int, folds: int = 5, fits: int = 3):
    """(weights fitted on all ``queries`` or the default's, the CV gain, its lower bound)."""
    default = learned_ndcg(queries, DEFAULT_WEIGHTS)
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    gains = np.zeros(len(queries))
    for f in range(folds):
        held = order[f::folds]
        held_set = set(held)
        rest = [queries[i] for i in order if i not in held_set]
        w = fit(rest)
        gains[held] = learned_ndcg([queries[i] for i in held], w) - default[held]
    z = NormalDist().inv_cdf(1 - 0.05 / fits)
    mean = float(gains.mean())
    bound = mean - z * float(gains.std(ddof=1)) / len(gains) ** 0.5
    return (fit(queries) if bound > 0 else DEFAULT_WEIGHTS), mean, bound


# --------------------------------------------------------------------------- the phase


def above_cosine(lists, min_cos: float):
    """``lists`` (``QueryLists``, fetched at any cosine) with the semantic hits below
    ``min_cos`` left out: the lists serving fuses at that minimum cosine."""
    kept = [
        (i, s) for i, s in zip(lists.semantic, lists.semantic_scores, strict=True) if s >= min_cos
    ]
    return type(lists)(
        lexical=lists.lexical,
        partial=lists.partial,
        semantic=[i for i, _ in kept],
        lexical_scores=lists.lexical_scores,
        partial_scores=lists.partial_scores,
        semantic_scores=[s for _, s in kept],
    )


def fetch_lists(queries: Sequence[str], external: dict[int, str]):
    """Serving's lists of each query (external ids), the semantic hits at any cosine."""
    from dataclasses import replace

    from recommend import selectors
    from recommend.models import Strategy
    from training.ml.search_fusion import QueryLists
    from training.search_fusion_data import search_query_lists

    field = {
        n: Strategy._meta.get_field(n).default
        for n in ("rrf_k", "lexical_weight", "semantic_weight")
    }
    strategy = replace(selectors.default_strategy("search"), **field, semantic_min_score=-1.0)
    found = search_query_lists(queries, strategy=strategy)
    out = {}
    for q in queries:
        got = found.get(q, QueryLists(lexical=[], lexical_scores=[], semantic_scores=[]))
        parts = {}
        for name in ("lexical", "partial", "semantic"):
            ids, scores = getattr(got, name), getattr(got, f"{name}_scores") or ()
            kept = [(external[pk], s) for pk, s in zip(ids, scores, strict=True) if pk in external]
            parts[name] = [i for i, _ in kept]
            parts[f"{name}_scores"] = [s for _, s in kept]
        out[q] = QueryLists(**parts)
    return out


def learned_figures(rows, products: dict[str, int], *, seed: int, synthetic: int, log):
    from bench._adapted import graded_truth
    from bench._fusion import synthetic_judgments
    from recommend.models import Strategy
    from training.ml.metrics import ndcg_at_k
    from training.ml.search_fusion import FusionSetting, fused_ids, split_queries

    truth = graded_truth(rows)
    external = {pk: ext for ext, pk in products.items()}
    valid, test = split_queries(list(truth), seed=seed, valid_fraction=0.5)
    synthetic_truth = synthetic_judgments(truth, external, seed=seed, count=synthetic)
    started = time.perf_counter()
    lists = fetch_lists([*truth, *synthetic_truth], external)
    log(f"lists of {len(lists)} queries fetched in {time.perf_counter() - started:.0f} s")
    every = {**truth, **synthetic_truth}
    cands = {q: candidates(lists[q], every[q]) for q in every}
    min_cos = Strategy._meta.get_field("semantic_min_score").default
    # the check: the default setting offline is the default hybrid of --phase fusion
    default_setting = FusionSetting(60, 1.0, 1.0)
    reference = {}
    for q in truth:
        reference[q] = ndcg_at_k(
            fused_ids(above_cosine(lists[q], min_cos), default_setting), truth[q], K
        )
    started = time.perf_counter()
    matrix = np.vstack([grid_ndcg(cands[q], GRID) for q in truth]).T  # settings x queries
    log(
        f"{len(GRID)} settings x {len(truth)} queries scored in {time.perf_counter() - started:.0f} s"
    )
    names = list(truth)
    col = {q: n for n, q in enumerate(names)}
    vi, ti = np.array([col[q] for q in valid]), np.array([col[q] for q in test])
    d = GRID.index(DEFAULT)
    mismatch = int(np.sum(np.abs(matrix[d] - np.array([reference[q] for q in names])) > 1e-9))
    log(f"default setting offline vs fused_ids: {mismatch} of {len(names)} queries differ")
    rows_out = {"hybrid default": matrix[d]}
    # chosen on validation
    v_mean = matrix[:, vi].mean(axis=1)
    best_v = int(np.argmax(v_mean))
    rows_out["grid: best validation mean"] = matrix[best_v]
    diffs = matrix[:, vi] - matrix[d, vi]
    z = NormalDist().inv_cdf(1 - 0.05 / (len(GRID) - 1))
    bound = diffs.mean(axis=1) - z * diffs.std(axis=1, ddof=1) / len(vi) ** 0.5
    bound[d] = 0.0
    lcb = int(np.argmax(bound)) if bound.max() > 0 else d
    rows_out["grid: lcb rule"] = matrix[lcb]
    chosen = {"best": GRID[best_v], "lcb": GRID[lcb]}
    # ceilings: chosen on the test half itself
    t_mean = matrix[:, ti].mean(axis=1)
    ceilings = {"whole grid": int(np.argmax(t_mean))}
    dims = {
        "share only": (3,),
        "share, partial weight": (3, 4),
        "k per list, share": (0, 1, 2, 3),
        "min cosine, depth, share": (3, 5, 6),
    }
    for label, free in dims.items():
        members = [
            n
            for n, s in enumerate(GRID)
            if all(s[i] == DEFAULT[i] for i in range(7) if i not in free)
        ]
        ceilings[label] = members[int(np.argmax(t_mean[members]))]
    oracle = float(matrix[:, ti].max(axis=0).mean())
    # learned
    sq = {q: served(cands[q], min_cos) for q in every}
    check = learned_ndcg([sq[q] for q in names], DEFAULT_WEIGHTS)
    log(
        "default as a linear score vs the default hybrid: "
        f"{int(np.sum(np.abs(check - matrix[d]) > 1e-9))} of {len(names)} queries differ"
    )
    test_q = [sq[q] for q in names]
    weights = {}
    for source, train in (("validation", valid), ("synthetic", list(synthetic_truth))):
        train_q = [sq[q] for q in train]
        for name, fit in FITS.items():
            started = time.perf_counter()
            w = fit(train_q)
            w_rule, cv_mean, cv_bound = cv_rule(train_q, fit, seed=seed)
            log(
                f"{name} on {len(train)} {source} queries ({time.perf_counter() - started:.0f} s): "
                f"training NDCG@{K} {learned_ndcg(train_q, w).mean():.4f} vs default "
                f"{learned_ndcg(train_q, DEFAULT_WEIGHTS).mean():.4f}; 5-fold CV gain {cv_mean:+.4f}, "
                f"lower bound {cv_bound:+.4f} -> {'fitted' if cv_bound > 0 else 'default'}"
            )
            weights[f"{name} ({source})"] = w
            rows_out[f"learned: {name} ({source})"] = learned_ndcg(test_q, w)
            rows_out[f"learned: {name} ({source}), CV rule"] = learned_ndcg(test_q, w_rule)
    return {
        "names": names,
        "test": ti,
        "rows": rows_out,
        "chosen": chosen,
        "ceilings": {label: (GRID[n], matrix[n]) for label, n in ceilings.items()},
        "oracle": oracle,
        "weights": weights,
        "counts": (len(valid), len(test), len(synthetic_truth)),
    }


def _describe(setting: tuple) -> str:
    kf, kp, ks, share, pw, t, depth = setting
    return f"k {kf:g}/{kp:g}/{ks:g}, share {share:.1f}, partial x{pw:g}, min cos {t:g}, depth {depth:g}"


def print_learned_report(result, *, title: str) -> None:
    import os

    from bench._serving import table
    from training.ml.metrics import paired_bootstrap

    ti = result["test"]
    default = result["rows"]["hybrid default"][ti]
    valid_n, test_n, synthetic_n = result["counts"]
    print()
    print(f"{title}\nload average {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f}")
    print(f"validation {valid_n} judged queries (synthetic: {synthetic_n}), test {test_n} judged")
    rows = []
    for name, values in result["rows"].items():
        mean, low, high = paired_bootstrap(values[ti], default)
        rows.append([name, float(values[ti].mean()), f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"])
    for label, (setting, values) in result["ceilings"].items():
        mean, low, high = paired_bootstrap(values[ti], default)
        rows.append(
            [
                f"ceiling ({label}, chosen on test): {_describe(setting)}",
                float(values[ti].mean()),
                f"{mean:+.4f}",
            ]
        )
    rows.append(
        [
            "per-query oracle of the grid (test)",
            result["oracle"],
            f"{result['oracle'] - default.mean():+.4f}",
        ]
    )
    print(table(["row", f"NDCG@{K} test half", "minus default, 95% paired bootstrap"], rows))
    # a fit on synthetic queries never saw a judged query: every judged query can test it
    every = result["rows"]["hybrid default"]
    rows = []
    for name, values in result["rows"].items():
        if "(synthetic)" in name:
            mean, low, high = paired_bootstrap(values, every)
            rows.append([name, float(values.mean()), f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"])
    print(
        table(
            ["row", f"NDCG@{K} all {len(every)} judged", "minus default, 95% paired bootstrap"],
            [["hybrid default", float(every.mean()), ""], *rows],
        )
    )
    for label, setting in result["chosen"].items():
        print(f"grid {label}: {_describe(setting)}")
    for name, w in result["weights"].items():
        print(
            f"weights {name}: "
            + ", ".join(f"{f} {v:+.3g}" for f, v in zip(FEATURES, w, strict=True))
        )
    print()


def run_learned_phase(args, seed: int, state: dict, *, log, started: float) -> None:
    from bench._adapted import store_rows

    rows, products = store_rows(seed, state["products"], more=args.heldout_queries or 0)
    result = learned_figures(
        rows, products, seed=args.seed, synthetic=args.synthetic_queries, log=log
    )
    print_learned_report(
        result,
        title=f"demo store seed {seed} ({len(products)} active products), base encoder, serving "
        f"lists, {len(result['names'])} held-out-grammar judged queries, split seed {args.seed} "
        f"({time.perf_counter() - started:.0f} s)",
    )
