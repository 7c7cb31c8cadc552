"""Choosing a search strategy's fusion (RRF ``k``, lexical and semantic weights) on validation
queries (plain Python).

Search fuses the lexical retriever's full matches, its partial matches (at
``partial_weight`` × the lexical weight) and the semantic hits by weighted reciprocal rank
fusion (``recommend.serving.search`` through ``recommend.engine.fusion``). The retrievers'
lists do not depend on the fusion, so each validation query's lists are fetched once and every
setting of a grid is scored offline with the same fusion function: NDCG@k of the fused list
against the query's graded judgments. RRF only cares about the ratio of the weights, so the
grid is over ``k`` and the lexical share ``w_lex / (w_lex + w_sem)`` (0: semantic only, 1:
lexical only). Ties keep the setting already in place (then the defaults): a grid point is
chosen only when it measurably helps on the validation queries.

A wider search (``tune_search_fusion(..., wide=True)``) also chooses how deep each retriever's
list is fused (``lexical_depth`` / ``semantic_depth``: a semantic list's tail is often noise a
deep RRF still credits) and the fusion method: RRF, or a convex combination of the lists'
min-max normalised scores (``w_lex * lex + w_sem * sem``, Bruch et al. 2023: it keeps how much
better the first hit is than the tenth, which RRF throws away; it needs each list's scores,
``QueryLists.*_scores``). A setting is described fully by :class:`FusionSetting`; the defaults
of its new fields are what serving does today (RRF over 100 candidates each).

The best validation mean over many settings overfits a few dozen queries: on two stores a
792-setting search gained on validation and nothing on the test queries. The selection the
``tune_search`` job uses (``select="lcb"``) therefore searches a small grid around the
defaults (:data:`REGULARISED_K_GRID` x :data:`REGULARISED_SHARE_GRID`) and ranks each setting
by a lower confidence bound of its gain over the start setting, query by query (paired):
``mean - z * standard error``, one-sided 95 % for the whole grid (Bonferroni: with 20
settings one of them beats the start at the 95 % level by chance alone most of the time, so
``z`` is the quantile of ``1 - 0.05 / settings``). Queries may come from several sources (judged,
mined from the log, synthetic): each source weighs the same in the mean and its variance, so
hundreds of synthetic queries add signal without outvoting the judged ones. A setting is
chosen only when its bound is above zero; otherwise the start setting stays, and the result
says so (``fell_back``, ``reason``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist

from recommend.engine.fusion import id_sort_key, reciprocal_rank_fusion
from training.ml.metrics import ndcg_at_k
from training.ml.progress import CancelCheck, check_cancel

__all__ = [
    "DEFAULT_DEPTH_GRID",
    "DEFAULT_K_GRID",
    "DEFAULT_SHARE_GRID",
    "METHODS",
    "FusionSetting",
    "QueryLists",
    "SearchFusionResult",
    "FusionCeiling",
    "fusion_ceiling",
    "fused_ids",
    "mean_ndcg",
    "gain_bound",
    "per_query_ndcg",
    "split_queries",
    "tune_search_fusion",
]

DEFAULT_K_GRID: tuple[int, ...] = (1, 5, 10, 20, 40, 60, 100)
DEFAULT_SHARE_GRID: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
#: candidates per retriever fused (serving fetches 100)
DEFAULT_DEPTH_GRID: tuple[int, ...] = (10, 30, 100)
DEFAULT_DEPTH = 100
METHODS = ("rrf", "convex")
PARTIAL_WEIGHT = 0.5
#: the small grid of ``select="lcb"``: 4 x 5 settings around the defaults (k 60, share 0.5)
REGULARISED_K_GRID: tuple[int, ...] = (10, 30, 60, 100)
REGULARISED_SHARE_GRID: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
SELECTIONS = ("lcb", "best")
#: the chance that ``select="lcb"`` picks a setting no better than the start (whole grid)
LCB_ALPHA = 0.05
#: one-sided 95 % normal quantile (one comparison)
LCB_Z = 1.645


@dataclass(frozen=True)
class QueryLists:
    """One query's retrieved ids, best first: full lexical matches, partial lexical matches
    (some of the words), semantic hits (above the strategy's minimum score)."""

    lexical: Sequence[Hashable]
    partial: Sequence[Hashable] = ()
    semantic: Sequence[Hashable] = ()
    #: each list's scores, in its order (BM25, cosine): the convex fusion needs them
    lexical_scores: Sequence[float] | None = None
    partial_scores: Sequence[float] | None = None
    semantic_scores: Sequence[float] | None = None

    @property
    def scored(self) -> bool:
        return all(
            scores is not None and len(scores) == len(ids)
            for ids, scores in (
                (self.lexical, self.lexical_scores),
                (self.partial, self.partial_scores or ([] if not self.partial else None)),
                (self.semantic, self.semantic_scores),
            )
        )


@dataclass(frozen=True)
class FusionSetting:
    rrf_k: int
    lexical_weight: float
    semantic_weight: float
    method: str = "rrf"
    lexical_depth: int = DEFAULT_DEPTH
    semantic_depth: int = DEFAULT_DEPTH

    @classmethod
    def from_share(cls, rrf_k: int, share: float, **wider) -> FusionSetting:
        """Weights with ``lexical / (lexical + semantic) = share``, the larger one 1."""
        share = min(1.0, max(0.0, float(share)))
        if share >= 0.5:
            return cls(int(rrf_k), 1.0, round((1 - share) / share, 4), **wider)
        return cls(int(rrf_k), round(share / (1 - share), 4), 1.0, **wider)

    @property
    def share(self) -> float:
        total = self.lexical_weight + self.semantic_weight
        return self.lexical_weight / total if total else 0.5

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class SearchFusionResult:
    chosen: FusionSetting
    ndcg: float
    start: FusionSetting
    start_ndcg: float
    queries: int
    tried: list[dict] = field(default_factory=list)
    selection: str = "best"
    #: ``select="lcb"``: the chosen setting's gain over ``start`` (each source of queries
    #: weighing the same) and its lower confidence bound; ``fell_back`` when no setting's bound
    #: was above zero (``chosen`` is then ``start``), ``reason`` in words
    gain: float = 0.0
    lower_bound: float = 0.0
    fell_back: bool = False
    reason: str = ""


def fused_ids(
    lists: QueryLists, setting: FusionSetting, *, partial_weight: float = PARTIAL_WEIGHT
) -> list[Hashable]:
    """The fused order serving produces for these lists under ``setting``."""
    # the lexical depth counts full matches, then partial ones (one list in serving)
    lexical = list(lists.lexical)[: setting.lexical_depth]
    partial = list(lists.partial)[: max(0, setting.lexical_depth - len(lexical))]
    semantic = list(lists.semantic)[: setting.semantic_depth]
    if setting.method == "convex":
        return convex_ids(lists, setting, partial_weight=partial_weight)
    fused = reciprocal_rank_fusion(
        {
            "lexical": [(i, 0.0) for i in lexical],
            "lexical_partial": [(i, 0.0) for i in partial],
            "semantic": [(i, 0.0) for i in semantic],
        },
        weights={
            "lexical": setting.lexical_weight,
            "lexical_partial": setting.lexical_weight * partial_weight,
            "semantic": setting.semantic_weight,
        },
        k=setting.rrf_k,
    )
    return [f.id for f in fused]


def _standardised(scores: Sequence[float]) -> list[float]:
    """Each score's distance from its list's mean in standard deviations (all 0 when flat)."""
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    spread = (sum((v - mean) ** 2 for v in scores) / len(scores)) ** 0.5
    if spread <= 1e-12:
        return [0.0] * len(scores)
    return [(v - mean) / spread for v in scores]


def convex_ids(
    lists: QueryLists, setting: FusionSetting, *, partial_weight: float = PARTIAL_WEIGHT
) -> list[Hashable]:
    """``w_lex * lex + w_sem * sem`` over the union of the (depth-cut) lists, each list's scores
    standardised over what it returned (z-scores: a hit far ahead of its list counts more than
    the first of a flat list, which rank fusion cannot tell apart; the lexical full and partial
    matches together, one BM25 scale, a partial match's share times ``partial_weight``); a
    product a list did not return gets that list's lowest standardised score. Ties: more lists,
    then the best rank, then the id."""
    if not lists.scored:
        raise ValueError("the convex fusion needs each list's scores")
    full_n = min(len(lists.lexical), setting.lexical_depth)
    part_n = min(len(lists.partial), max(0, setting.lexical_depth - full_n))
    lexical = [*lists.lexical[:full_n], *lists.partial[:part_n]]
    lexical_z = _standardised(
        [*list(lists.lexical_scores or ())[:full_n], *list(lists.partial_scores or ())[:part_n]]
    )
    semantic = list(lists.semantic)[: setting.semantic_depth]
    semantic_z = _standardised(list(lists.semantic_scores or ())[: setting.semantic_depth])
    by_list: list[tuple[float, dict[Hashable, tuple[int, float]]]] = []
    for weight, ids, zs, cut in (
        (setting.lexical_weight, lexical, lexical_z, full_n),
        (setting.semantic_weight, semantic, semantic_z, len(semantic)),
    ):
        found: dict[Hashable, tuple[int, float]] = {}
        for rank, (item, z) in enumerate(zip(ids, zs, strict=True), start=1):
            if item not in found:
                found[item] = (rank, z * (partial_weight if rank > cut else 1.0))
        by_list.append((weight, found))
    items = {item for _, found in by_list for item in found}
    score = dict.fromkeys(items, 0.0)
    seen_in = dict.fromkeys(items, 0)
    best = dict.fromkeys(items, 10**9)
    for weight, found in by_list:
        if weight == 0 or not found:
            continue
        floor = min(z for _, z in found.values())
        for item in items:
            rank, z = found.get(item, (None, floor))
            score[item] += weight * z
            if rank is not None:
                seen_in[item] += 1
                best[item] = min(best[item], rank)
    return sorted(score, key=lambda i: (-score[i], -seen_in[i], best[i], id_sort_key(i)))


def mean_ndcg(
    lists: Mapping[str, QueryLists],
    judgments: Mapping[str, Mapping[Hashable, float]],
    setting: FusionSetting,
    k: int = 10,
) -> float:
    """Mean NDCG@k over the queries of ``lists`` that have a positive judgment."""
    queries = [q for q in lists if any(g > 0 for g in judgments.get(q, {}).values())]
    if not queries:
        return 0.0
    return sum(ndcg_at_k(fused_ids(lists[q], setting), judgments[q], k) for q in queries) / len(
        queries
    )


def per_query_ndcg(
    lists: Mapping[str, QueryLists],
    judgments: Mapping[str, Mapping[Hashable, float]],
    setting: FusionSetting,
    k: int = 10,
) -> dict[str, float]:
    """NDCG@k of each query of ``lists`` that has a positive judgment."""
    return {
        q: ndcg_at_k(fused_ids(lists[q], setting), judgments[q], k)
        for q in lists
        if any(g > 0 for g in judgments.get(q, {}).values())
    }


def gain_bound(
    gains: Mapping[str, float], groups: Mapping[str, str] | None = None, z: float = LCB_Z
) -> tuple[float, float]:
    """``(mean, lower bound)`` of per-query gains: the mean of each group's mean (queries
    without a group form one), and that minus ``z`` standard errors (a group's variance over
    its queries, n - 1; a group of one query counts as unknown spread: no bound above 0)."""
    by_group: dict[str, list[float]] = {}
    for query, value in gains.items():
        by_group.setdefault((groups or {}).get(query, ""), []).append(float(value))
    if not by_group:
        return 0.0, 0.0
    mean = variance = 0.0
    for values in by_group.values():
        n = len(values)
        group_mean = sum(values) / n
        mean += group_mean
        if n < 2:
            variance += float("inf")
        else:
            variance += sum((v - group_mean) ** 2 for v in values) / (n - 1) / n
    count = len(by_group)
    mean /= count
    spread = (variance**0.5) / count
    return mean, mean - z * spread


@dataclass(frozen=True)
class FusionCeiling:
    """What any choice among ``settings`` could reach on a set of queries, chosen on those
    very queries (an upper bound, never a result): ``best`` the one fixed setting with the
    highest mean NDCG@k (``best_ndcg``), ``oracle_ndcg`` the mean of each query's best setting
    (a per-query choice no feature could beat), ``queries`` how many were scored."""

    best: FusionSetting
    best_ndcg: float
    oracle_ndcg: float
    queries: int


def fusion_ceiling(
    lists: Mapping[str, QueryLists],
    judgments: Mapping[str, Mapping[Hashable, float]],
    settings: Sequence[FusionSetting],
    k: int = 10,
) -> FusionCeiling:
    """The ceiling of ``settings`` on these queries (:class:`FusionCeiling`): what tuning on
    validation queries can at best win on test queries. Ties go to the earlier setting."""
    if not settings:
        raise ValueError("no setting to score")
    per_setting = [per_query_ndcg(lists, judgments, s, k) for s in settings]
    queries = list(per_setting[0])
    if not queries:
        return FusionCeiling(settings[0], 0.0, 0.0, 0)
    means = [sum(scores.values()) / len(queries) for scores in per_setting]
    top = max(range(len(settings)), key=lambda i: (means[i], -i))
    oracle = sum(max(scores[q] for scores in per_setting) for q in queries) / len(queries)
    return FusionCeiling(settings[top], means[top], oracle, len(queries))


def split_queries(
    queries: Sequence[str], *, seed: int, valid_fraction: float = 0.5
) -> tuple[list[str], list[str]]:
    """``(validation, test)`` queries: a seeded shuffle of the sorted queries, cut at
    ``valid_fraction`` (reproducible, independent of input order)."""
    import random

    ordered = sorted(set(queries))
    random.Random(seed).shuffle(ordered)
    cut = int(round(len(ordered) * valid_fraction))
    return sorted(ordered[:cut]), sorted(ordered[cut:])


def tune_search_fusion(
    lists: Mapping[str, QueryLists],
    judgments: Mapping[str, Mapping[Hashable, float]],
    *,
    start: FusionSetting,
    k: int = 10,
    k_grid: Sequence[int] | None = None,
    share_grid: Sequence[float] | None = None,
    wide: bool = False,
    depth_grid: Sequence[int] = DEFAULT_DEPTH_GRID,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: CancelCheck | None = None,
    select: str = "best",
    groups: Mapping[str, str] | None = None,
) -> SearchFusionResult:
    """The grid setting (default :data:`DEFAULT_K_GRID` x :data:`DEFAULT_SHARE_GRID`) with the
    best mean validation NDCG@k (``start`` wins ties). With
    ``wide``, the grid also spans the depth of each list (``depth_grid``) and the convex
    fusion (when every list carries its scores).

    ``select="lcb"``: over :data:`REGULARISED_K_GRID` x :data:`REGULARISED_SHARE_GRID` by
    default, the setting whose gain over ``start`` has the highest lower confidence bound (:func:`gain_bound`, queries grouped by source with ``groups``), chosen only when
    that bound is above zero; ``start`` otherwise (``fell_back``). With ``wide`` (and every
    list scored) that grid also holds the convex fusion at each share (``start``'s depths), the
    Bonferroni correction counting it."""
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {select!r}")
    if select == "lcb":
        return _tune_lcb(
            lists,
            judgments,
            start=start,
            k=k,
            k_grid=REGULARISED_K_GRID if k_grid is None else k_grid,
            share_grid=REGULARISED_SHARE_GRID if share_grid is None else share_grid,
            convex=wide and bool(lists) and all(q.scored for q in lists.values()),
            on_step=on_step,
            should_cancel=should_cancel,
            groups=groups,
        )
    k_grid = DEFAULT_K_GRID if k_grid is None else k_grid
    share_grid = DEFAULT_SHARE_GRID if share_grid is None else share_grid
    start_ndcg = mean_ndcg(lists, judgments, start, k)
    best, best_ndcg = start, start_ndcg
    depths = [(d_lex, d_sem) for d_lex in depth_grid for d_sem in depth_grid] if wide else []
    if not depths:
        depths = [(DEFAULT_DEPTH, DEFAULT_DEPTH)]
    grid = [
        FusionSetting.from_share(rk, share, lexical_depth=d_lex, semantic_depth=d_sem)
        for d_lex, d_sem in depths
        for rk in k_grid
        for share in share_grid
    ]
    if wide and lists and all(q.scored for q in lists.values()):
        grid += [
            FusionSetting.from_share(
                start.rrf_k, share, method="convex", lexical_depth=d_lex, semantic_depth=d_sem
            )
            for d_lex, d_sem in depths
            for share in share_grid
        ]
    tried = []
    for n, setting in enumerate(grid, start=1):
        check_cancel(should_cancel)
        score = mean_ndcg(lists, judgments, setting, k)
        tried.append({**setting.as_dict(), "ndcg": round(score, 4)})
        if score > best_ndcg + 1e-9:
            best, best_ndcg = setting, score
        if on_step is not None:
            on_step(n, len(grid))
    queries = sum(1 for q in lists if any(g > 0 for g in judgments.get(q, {}).values()))
    return SearchFusionResult(best, best_ndcg, start, start_ndcg, queries, tried)


def _convex(setting: FusionSetting) -> str:
    return "the convex fusion, " if setting.method == "convex" else ""


def _tune_lcb(
    lists: Mapping[str, QueryLists],
    judgments: Mapping[str, Mapping[Hashable, float]],
    *,
    start: FusionSetting,
    k: int,
    k_grid: Sequence[int],
    share_grid: Sequence[float],
    on_step: Callable[[int, int], None] | None,
    should_cancel: CancelCheck | None,
    groups: Mapping[str, str] | None,
    convex: bool = False,
) -> SearchFusionResult:
    base = per_query_ndcg(lists, judgments, start, k)
    start_ndcg = sum(base.values()) / len(base) if base else 0.0
    grid = [FusionSetting.from_share(rk, share) for rk in k_grid for share in share_grid]
    if convex:
        grid += [
            FusionSetting.from_share(start.rrf_k, share, method="convex") for share in share_grid
        ]
    grid = [setting for setting in dict.fromkeys(grid) if setting != start]
    z = NormalDist().inv_cdf(1 - LCB_ALPHA / max(len(grid), 1))
    best, best_scores, best_gain, best_bound = start, base, 0.0, 0.0
    top_bound: tuple[float, float, FusionSetting] | None = None
    tried = []
    for n, setting in enumerate(grid, start=1):
        check_cancel(should_cancel)
        scores = per_query_ndcg(lists, judgments, setting, k)
        gain, bound = gain_bound({q: scores[q] - base[q] for q in base}, groups, z)
        mean = sum(scores.values()) / len(scores) if scores else 0.0
        tried.append(
            {
                **setting.as_dict(),
                "ndcg": round(mean, 4),
                "gain": round(gain, 4),
                "lcb": round(bound, 4) if math.isfinite(bound) else None,
            }
        )
        if top_bound is None or bound > top_bound[0] + 1e-12:
            top_bound = (bound, gain, setting)
        if bound > best_bound + 1e-12:
            best, best_scores, best_gain, best_bound = setting, scores, gain, bound
        if on_step is not None:
            on_step(n, len(grid))
    fell_back = best == start
    sources = len({(groups or {}).get(q, "") for q in base}) if base else 0
    if fell_back:
        bound, gain, setting = top_bound or (0.0, 0.0, start)
        reason = (
            f"no setting is clearly better than k {start.rrf_k}, lexical "
            f"{start.lexical_weight:g}, semantic {start.semantic_weight:g} on {len(base)} "
            f"validation queries ({sources} source(s)): the best lower bound of a gain was "
            f"{bound:+.4f} ({_convex(setting)}k {setting.rrf_k}, share {setting.share:.2f}, mean gain "
            f"{gain:+.4f}), so k {start.rrf_k}, lexical {start.lexical_weight:g}, semantic "
            f"{start.semantic_weight:g} stays"
        )
    else:
        reason = (
            f"{_convex(best)}k {best.rrf_k}, lexical {best.lexical_weight:g}, semantic "
            f"{best.semantic_weight:g} gains {best_gain:+.4f} NDCG@{k} over k {start.rrf_k}, "
            f"lexical {start.lexical_weight:g}, semantic {start.semantic_weight:g} on "
            f"{len(base)} validation queries ({sources} source(s)), lower bound "
            f"{best_bound:+.4f}"
        )
    chosen_ndcg = sum(best_scores.values()) / len(best_scores) if best_scores else 0.0
    return SearchFusionResult(
        best,
        chosen_ndcg,
        start,
        start_ndcg,
        len(base),
        tried,
        selection="lcb",
        gain=0.0 if fell_back else best_gain,
        lower_bound=0.0 if fell_back else best_bound,
        fell_back=fell_back,
        reason=reason,
    )
