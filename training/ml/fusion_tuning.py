"""Learning the per-source weights of a recommendation fusion on validation users.

Serving fuses its candidate sources (CF, profile embedding, category interests, trending,
bought-together) by weighted reciprocal rank fusion: an item scores ``sum_s w_s / (k + rank_s)``
(``recommend.engine.fusion``). Fixed weights cannot know that, on a catalogue whose titles carry
no meaning, the profile-embedding source is noise. Here the weights are searched for: given each
validation user's ranked list per source (built from the training part only) and the items they
went on to engage with, coordinate ascent over a small grid of weights (0 included) maximises
NDCG@K of the fused list; then every source whose removal does not lower the metric is set to 0,
so a source that does not help ends switched off rather than at an arbitrary value.

The fusion is vectorised: each user's candidates become columns of a users × sources ×
candidates array of ``1 / (k + rank)`` terms, so one weight set is scored for every user with a
single contraction. Ties on the fused score go to the candidate with the better best rank (as
``reciprocal_rank_fusion`` breaks them after the number of sources).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from training.ml import metrics
from training.ml.progress import CancelCheck, check_cancel

__all__ = ["DEFAULT_GRID", "FusionData", "TuneResult", "build_fusion_data", "tune_weights"]

#: Weights tried per source (RRF is scale-free: only the ratios between sources matter).
DEFAULT_GRID: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass
class FusionData:
    """Validation users' candidates ready for weighted fusion.

    ``terms[u, s, c]`` is ``1 / (rrf_k + rank)`` of user ``u``'s candidate ``c`` in source
    ``s`` (0 where the source did not return it); ``relevant[u, c]`` whether the candidate is
    one of the user's held-out items; ``n_relevant[u]`` counts all of them, ranked by a source
    or not (they cost recall as in the CF evaluation).
    """

    sources: tuple[str, ...]
    users: list[Hashable]
    terms: np.ndarray
    relevant: np.ndarray
    n_relevant: np.ndarray
    listed: dict[str, int] = field(default_factory=dict)

    def evaluate(self, weights: Mapping[str, float], k: int) -> tuple[float, float]:
        """Mean (Recall@k, NDCG@k) of the lists fused with ``weights`` (a missing source: 0)."""
        if not self.users:
            return 0.0, 0.0
        w = np.array([float(weights.get(s, 0.0)) for s in self.sources], dtype=np.float32)
        scores = np.einsum("usc,s->uc", self.terms, w)
        depth = min(k, scores.shape[1])
        # Columns are in best-rank order, so a stable sort breaks ties as serving does.
        order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
        returned = np.take_along_axis(scores, order, axis=1) > 0
        hits = np.zeros((len(self.users), k), dtype=bool)
        hits[:, :depth] = np.take_along_axis(self.relevant, order, axis=1) & returned
        return metrics.recall_ndcg_from_hits(hits, self.n_relevant, k)


def build_fusion_data(
    lists: Mapping[Hashable, Mapping[str, Sequence[Hashable]]],
    relevant: Mapping[Hashable, set],
    *,
    sources: Sequence[str],
    rrf_k: int = 60,
    exclude: Mapping[Hashable, set] | None = None,
) -> FusionData:
    """``lists[user][source]``: the source's items for the user, best first (ranks count from 1
    over the whole list). ``relevant[user]``: their held-out items. Users with no relevant item
    left after ``exclude[user]`` are skipped; excluded items are never ranked (their ranks
    still count, as serving fuses first and drops excluded products after)."""
    if rrf_k < 0:
        raise ValueError(f"rrf_k must be >= 0, got {rrf_k}")
    sources = tuple(sources)
    rows: list[tuple[Hashable, list[Hashable], dict[Hashable, list[float]], set]] = []
    listed = dict.fromkeys(sources, 0)
    for user, per_source in lists.items():
        skip = exclude.get(user, set()) if exclude else set()
        wanted = set(relevant.get(user, ())) - skip
        if not wanted:
            continue
        best: dict[Hashable, int] = {}
        terms: dict[Hashable, list[float]] = {}
        for s, name in enumerate(sources):
            seen: set[Hashable] = set()
            for rank, item in enumerate(per_source.get(name, ()), start=1):
                if item in seen:
                    continue
                seen.add(item)
                if item in skip:
                    continue
                listed[name] += 1
                row = terms.setdefault(item, [0.0] * len(sources))
                row[s] = 1.0 / (rrf_k + rank)
                best[item] = min(best.get(item, rank), rank)
        columns = sorted(terms, key=lambda item: (best[item], str(item)))
        rows.append((user, columns, terms, wanted))
    width = max((len(columns) for _, columns, _, _ in rows), default=0)
    terms_array = np.zeros((len(rows), len(sources), width), dtype=np.float32)
    relevant_array = np.zeros((len(rows), width), dtype=bool)
    n_relevant = np.zeros(len(rows), dtype=np.int64)
    for u, (_, columns, terms, wanted) in enumerate(rows):
        if columns:
            terms_array[u, :, : len(columns)] = np.array([terms[c] for c in columns]).T
            relevant_array[u, : len(columns)] = [c in wanted for c in columns]
        n_relevant[u] = len(wanted)
    return FusionData(
        sources=sources,
        users=[user for user, *_ in rows],
        terms=terms_array,
        relevant=relevant_array,
        n_relevant=n_relevant,
        listed=listed,
    )


@dataclass
class TuneResult:
    """The chosen weights and how they were found.

    ``tried``: every weight set scored, ``{"weights", "recall", "ndcg"}`` in order;
    ``without``: NDCG@k of the chosen weights with each source set to 0 in turn.
    """

    weights: dict[str, float]
    ndcg: float
    recall: float
    start_ndcg: float
    start_recall: float
    k: int
    users: int
    tried: list[dict] = field(default_factory=list)
    without: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "weights": self.weights,
            "k": self.k,
            "users": self.users,
            f"ndcg@{self.k}": round(self.ndcg, 4),
            f"recall@{self.k}": round(self.recall, 4),
            "before": {
                f"ndcg@{self.k}": round(self.start_ndcg, 4),
                f"recall@{self.k}": round(self.start_recall, 4),
            },
            "without": {s: round(v, 4) for s, v in self.without.items()},
            "tried": len(self.tried),
        }


def tune_weights(
    data: FusionData,
    start: Mapping[str, float],
    *,
    k: int = 20,
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 3,
    tolerance: float = 1e-4,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> TuneResult:
    """Coordinate ascent on NDCG@k from ``start``: each source in turn takes the grid value
    that raises the metric by more than ``tolerance`` (else keeps its weight), for at most
    ``rounds`` passes or until a pass changes nothing; then each source with a weight, the
    lightest first, is set to 0 when that does not lower the metric by more than
    ``tolerance``. The result is rescaled (RRF is scale-free) so its heaviest weight equals the
    heaviest starting weight. ``on_step(done, total)`` reports progress."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if any(v < 0 for v in grid):
        raise ValueError("grid weights must be >= 0")
    sources = data.sources
    total = rounds * len(sources) * len(grid) + 2 * len(sources)
    cache: dict[tuple[float, ...], tuple[float, float]] = {}
    tried: list[dict] = []

    def score(weights: dict[str, float]) -> tuple[float, float]:
        key = tuple(round(weights[s], 6) for s in sources)
        if key not in cache:
            check_cancel(should_cancel)
            cache[key] = data.evaluate(weights, k)
            recall, ndcg = cache[key]
            tried.append({"weights": dict(weights), "recall": recall, "ndcg": ndcg})
            if on_step is not None:
                on_step(min(len(tried), total), total)
        return cache[key]

    current = {s: float(start.get(s, 1.0)) for s in sources}
    start_recall, start_ndcg = score(current)
    best = start_ndcg
    for _ in range(rounds):
        changed = False
        for s in sources:
            for value in grid:
                candidate = {**current, s: float(value)}
                _, ndcg = score(candidate)
                if ndcg > best + tolerance:
                    best, current, changed = ndcg, candidate, True
        if not changed:
            break
    for s in sorted(sources, key=lambda name: (current[name], name)):
        if current[s] == 0:
            continue
        candidate = {**current, s: 0.0}
        _, ndcg = score(candidate)
        if ndcg >= best - tolerance:  # against the ascent's best: losses cannot add up
            current = candidate
    # RRF only sees ratios: rescale so the heaviest weight is the heaviest starting one, which
    # keeps the weights on the scale of the sources fused but not tuned (a product page's context).
    heaviest, start_heaviest = (
        max(current.values(), default=0.0),
        max((float(start.get(s, 1.0)) for s in sources), default=0.0),
    )
    if heaviest > 0 and start_heaviest > 0:
        current = {s: round(w * start_heaviest / heaviest, 4) for s, w in current.items()}
    recall, ndcg = score(current)
    without = {s: score({**current, s: 0.0})[1] for s in sources if current[s] > 0}
    return TuneResult(
        weights=current,
        ndcg=ndcg,
        recall=recall,
        start_ndcg=start_ndcg,
        start_recall=start_recall,
        k=k,
        users=len(data.users),
        tried=tried,
        without=without,
    )
