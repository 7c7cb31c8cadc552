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
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from recommend.engine.fusion import reciprocal_rank_fusion
from training.ml.metrics import ndcg_at_k
from training.ml.progress import CancelCheck, check_cancel

__all__ = [
    "DEFAULT_K_GRID",
    "DEFAULT_SHARE_GRID",
    "FusionSetting",
    "QueryLists",
    "SearchFusionResult",
    "fused_ids",
    "mean_ndcg",
    "split_queries",
    "tune_search_fusion",
]

DEFAULT_K_GRID: tuple[int, ...] = (1, 5, 10, 20, 40, 60, 100)
DEFAULT_SHARE_GRID: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
PARTIAL_WEIGHT = 0.5


@dataclass(frozen=True)
class QueryLists:
    """One query's retrieved ids, best first: full lexical matches, partial lexical matches
    (some of the words), semantic hits (above the strategy's minimum score)."""

    lexical: Sequence[Hashable]
    partial: Sequence[Hashable] = ()
    semantic: Sequence[Hashable] = ()


@dataclass(frozen=True)
class FusionSetting:
    rrf_k: int
    lexical_weight: float
    semantic_weight: float

    @classmethod
    def from_share(cls, rrf_k: int, share: float) -> FusionSetting:
        """Weights with ``lexical / (lexical + semantic) = share``, the larger one 1."""
        share = min(1.0, max(0.0, float(share)))
        if share >= 0.5:
            return cls(int(rrf_k), 1.0, round((1 - share) / share, 4))
        return cls(int(rrf_k), round(share / (1 - share), 4), 1.0)

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


def fused_ids(
    lists: QueryLists, setting: FusionSetting, *, partial_weight: float = PARTIAL_WEIGHT
) -> list[Hashable]:
    """The fused order serving produces for these lists under ``setting``."""
    fused = reciprocal_rank_fusion(
        {
            "lexical": [(i, 0.0) for i in lists.lexical],
            "lexical_partial": [(i, 0.0) for i in lists.partial],
            "semantic": [(i, 0.0) for i in lists.semantic],
        },
        weights={
            "lexical": setting.lexical_weight,
            "lexical_partial": setting.lexical_weight * partial_weight,
            "semantic": setting.semantic_weight,
        },
        k=setting.rrf_k,
    )
    return [f.id for f in fused]


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
    k_grid: Sequence[int] = DEFAULT_K_GRID,
    share_grid: Sequence[float] = DEFAULT_SHARE_GRID,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> SearchFusionResult:
    """The grid setting with the best mean validation NDCG@k (``start`` wins ties)."""
    start_ndcg = mean_ndcg(lists, judgments, start, k)
    best, best_ndcg = start, start_ndcg
    grid = [FusionSetting.from_share(rk, share) for rk in k_grid for share in share_grid]
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
