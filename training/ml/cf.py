"""Collaborative filtering on shopper-product interactions: item-item, ALS matrix factorisation,
and a popularity baseline, all behind one interface.

Every model answers ``recommend(user_id, k, exclude)``, ``similar_items(item_id, k)`` and
``score(user_id, item_ids)``, and saves to a directory as ``cf.npz`` (arrays, loaded with
``allow_pickle=False``) plus ``cf.json`` (kind, parameters, id lists): no pickle, so a model
file can be read without trusting it. Ids must therefore be JSON values (str or int).

``ImplicitMF`` fits with the ``implicit`` package (``implicit.cpu.als.AlternatingLeastSquares``,
which takes a users × items CSR of confidences) and falls back to a plain numpy ALS with the
same objective when ``implicit`` cannot be imported. Serving only needs numpy and scipy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from training.ml import metrics
from training.ml.progress import CancelCheck, JobCancelled, ProgressCallback

FORMAT_VERSION = 1


@dataclass
class Interactions:
    """A users × items CSR matrix of summed interaction weights, with the id ↔ index maps."""

    matrix: sp.csr_matrix
    user_ids: list[Hashable]
    item_ids: list[Hashable]

    def __post_init__(self) -> None:
        self.user_index = {user: i for i, user in enumerate(self.user_ids)}
        self.item_index = {item: i for i, item in enumerate(self.item_ids)}

    @property
    def n_users(self) -> int:
        """Number of users (rows)."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Number of items (columns)."""
        return len(self.item_ids)

    def items_of(self, user_id: Hashable) -> set[Hashable]:
        """Ids of the items the user interacted with (empty for an unknown user)."""
        row = self.user_index.get(user_id)
        if row is None:
            return set()
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return {self.item_ids[j] for j in self.matrix.indices[start:end]}


def build_interactions(
    rows: Iterable[Sequence[Any]],
    user_ids: Sequence[Hashable] | None = None,
    item_ids: Sequence[Hashable] | None = None,
) -> Interactions:
    """Build ``Interactions`` from ``(user, item, weight, timestamp)`` rows.

    Repeated (user, item) rows add up; the timestamp is accepted (rows come straight from a
    time split) but not used. Ids are sorted (by ``str``) so the matrix does not depend on row
    order. Passing ``user_ids`` / ``item_ids`` fixes the id space (e.g. the training set's);
    rows with ids outside it are dropped.
    """
    triples = [(row[0], row[1], float(row[2])) for row in rows]
    if user_ids is None:
        user_ids = sorted({user for user, _, _ in triples}, key=str)
    if item_ids is None:
        item_ids = sorted({item for _, item, _ in triples}, key=str)
    user_index = {user: i for i, user in enumerate(user_ids)}
    item_index = {item: i for i, item in enumerate(item_ids)}
    kept = [
        (user_index[user], item_index[item], weight)
        for user, item, weight in triples
        if user in user_index and item in item_index
    ]
    if kept:
        r, c, w = (np.asarray(column) for column in zip(*kept, strict=True))
    else:
        r = c = np.zeros(0, dtype=np.int64)
        w = np.zeros(0, dtype=np.float32)
    matrix = sp.coo_matrix(
        (w.astype(np.float32), (r, c)), shape=(len(user_ids), len(item_ids))
    ).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return Interactions(matrix=matrix, user_ids=list(user_ids), item_ids=list(item_ids))


def _top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest finite scores, best first; ties by lower index."""
    candidates = np.flatnonzero(np.isfinite(scores))
    if k <= 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(candidates) > k:
        # Keep everything tied with the k-th score, then order exactly.
        kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order[:k]]


def _json_id(value: Hashable) -> Hashable:
    """numpy scalars (e.g. ids read from an array) as plain Python values for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def _csr_from(prefix: str, arrays: Any) -> sp.csr_matrix:
    shape = tuple(int(n) for n in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )


class CFModel:
    """Shared interface: id maps, the training interactions (to exclude what a user has seen),
    recommendation, scoring and persistence. Subclasses supply ``_user_scores`` and
    ``_item_neighbour_scores``."""

    kind: ClassVar[str] = ""
    # Item-item scores of 0 mean "no evidence", not "a neutral guess": do not recommend them.
    positive_scores_only: ClassVar[bool] = False

    def __init__(
        self,
        user_items: sp.csr_matrix,
        user_ids: list[Hashable],
        item_ids: list[Hashable],
        params: dict[str, Any],
    ) -> None:
        self.user_items = user_items
        self.user_ids = user_ids
        self.item_ids = item_ids
        self.params = params
        self.user_index = {user: i for i, user in enumerate(user_ids)}
        self.item_index = {item: i for i, item in enumerate(item_ids)}

    @property
    def n_items(self) -> int:
        """Number of items the model knows."""
        return len(self.item_ids)

    # -- to implement -----------------------------------------------------------------------
    def _user_scores(self, user: int | None) -> np.ndarray | None:
        raise NotImplementedError

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        raise NotImplementedError

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_arrays(self, arrays: Any) -> None:
        raise NotImplementedError

    # -- interface ----------------------------------------------------------------------------
    def _seen(self, user: int | None) -> np.ndarray:
        if user is None:
            return np.zeros(0, dtype=np.int64)
        return self.user_items.indices[
            self.user_items.indptr[user] : self.user_items.indptr[user + 1]
        ]

    def _ranked(
        self, scores: np.ndarray, k: int, drop: Iterable[int]
    ) -> list[tuple[Hashable, float]]:
        scores = scores.astype(np.float64, copy=True)
        drop_list = list(drop)
        if drop_list:
            scores[np.asarray(drop_list, dtype=np.int64)] = -np.inf
        if self.positive_scores_only:
            scores[scores <= 0] = -np.inf
        return [(self.item_ids[j], float(scores[j])) for j in _top_indices(scores, k)]

    def recommend(
        self,
        user_id: Hashable,
        k: int = 20,
        exclude: Iterable[Hashable] | None = None,
        exclude_seen: bool = True,
    ) -> list[tuple[Hashable, float]]:
        """Top ``k`` ``(item_id, score)`` for a user, best first.

        Leaves out ``exclude`` and, with ``exclude_seen``, the user's training items. A user the
        model has never seen gets ``[]`` (the popularity model still answers).
        """
        user = self.user_index.get(user_id)
        scores = self._user_scores(user)
        if scores is None:
            return []
        drop = [self.item_index[item] for item in exclude or () if item in self.item_index]
        if exclude_seen:
            drop.extend(int(j) for j in self._seen(user))
        return self._ranked(scores, k, drop)

    def similar_items(self, item_id: Hashable, k: int = 20) -> list[tuple[Hashable, float]]:
        """Top ``k`` ``(item_id, similarity)`` neighbours of an item, itself excluded."""
        item = self.item_index.get(item_id)
        if item is None:
            return []
        return self._ranked(self._item_neighbour_scores(item), k, [item])

    def score(self, user_id: Hashable, item_ids: Sequence[Hashable]) -> np.ndarray:
        """The model's score for each of ``item_ids`` (0 for an unknown user or item)."""
        out = np.zeros(len(item_ids), dtype=np.float32)
        scores = self._user_scores(self.user_index.get(user_id))
        if scores is None:
            return out
        for position, item_id in enumerate(item_ids):
            item = self.item_index.get(item_id)
            if item is not None:
                out[position] = scores[item]
        return out

    def save(self, directory: str | Path) -> Path:
        """Write ``cf.npz`` and ``cf.json`` into ``directory`` (created if needed)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {**_csr_arrays("user_items", self.user_items), **self._arrays()}
        np.savez(path / "cf.npz", **arrays)
        config = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "params": self.params,
            "user_ids": [_json_id(user) for user in self.user_ids],
            "item_ids": [_json_id(item) for item in self.item_ids],
        }
        (path / "cf.json").write_text(json.dumps(config))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> CFModel:
        """Read a model saved by ``save``; on the base class, the saved kind picks the class."""
        path = Path(directory)
        config = json.loads((path / "cf.json").read_text())
        model_class = _MODEL_CLASSES.get(config["kind"])
        if model_class is None:
            raise ValueError(f"unknown CF model kind {config['kind']!r}")
        if cls is not CFModel and model_class is not cls:
            raise ValueError(f"{path} holds a {config['kind']!r} model, not {cls.kind!r}")
        with np.load(path / "cf.npz", allow_pickle=False) as arrays:
            model = model_class(
                _csr_from("user_items", arrays),
                list(config["user_ids"]),
                list(config["item_ids"]),
                dict(config["params"]),
            )
            model._set_arrays(arrays)
        return model


class PopularityModel(CFModel):
    """Baseline: every user gets the items most users interacted with."""

    kind = "popularity"

    popularity: np.ndarray

    @classmethod
    def fit(cls, interactions: Interactions) -> PopularityModel:
        """Count distinct users per item, scaled to [0, 1]."""
        model = cls(interactions.matrix, interactions.user_ids, interactions.item_ids, {})
        counts = np.asarray((interactions.matrix > 0).sum(axis=0), dtype=np.float64).ravel()
        model.popularity = counts / counts.max() if counts.size and counts.max() > 0 else counts
        return model

    def _user_scores(self, user: int | None) -> np.ndarray:
        return self.popularity

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        return self.popularity

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}

    def _set_arrays(self, arrays: Any) -> None:
        self.popularity = np.asarray(arrays["popularity"])


class ItemItemCF(CFModel):
    """Item-item CF: cosine of item co-occurrence over users, ``top_k`` neighbours per item.

    ``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrink)``. A user's score for ``j`` is
    ``sum over their items i of weight(u, i) * sim(i, j)``.
    """

    kind = "item_item"
    positive_scores_only = True

    similarity: sp.csr_matrix

    @classmethod
    def fit(
        cls,
        interactions: Interactions,
        top_k: int = 50,
        shrink: float = 0.0,
        block_size: int = 4096,
    ) -> ItemItemCF:
        """Compute the pruned similarity matrix block by block (memory ~ block × items)."""
        params = {"top_k": top_k, "shrink": shrink}
        model = cls(interactions.matrix, interactions.user_ids, interactions.item_ids, params)
        binary = interactions.matrix.copy()
        binary.data = np.ones_like(binary.data, dtype=np.float32)
        binary.eliminate_zeros()
        item_users = binary.T.tocsr()
        norms = np.sqrt(np.asarray(item_users.sum(axis=1), dtype=np.float64).ravel())
        n_items = interactions.n_items
        rows_out, cols_out, vals_out = [], [], []
        for start in range(0, n_items, block_size):
            block = (item_users[start : start + block_size] @ binary).tocoo()
            rows = block.row.astype(np.int64) + start
            cols = block.col.astype(np.int64)
            vals = block.data.astype(np.float64)
            keep = rows != cols
            rows, cols, vals = rows[keep], cols[keep], vals[keep]
            vals = vals / (norms[rows] * norms[cols] + shrink)
            # Per row, best first; keep the first top_k of each row.
            order = np.lexsort((cols, -vals, rows))
            rows, cols, vals = rows[order], cols[order], vals[order]
            row_start = np.searchsorted(rows, rows, side="left")
            keep = (np.arange(len(rows)) - row_start) < top_k
            rows_out.append(rows[keep])
            cols_out.append(cols[keep])
            vals_out.append(vals[keep])
        model.similarity = sp.csr_matrix(
            (
                np.concatenate(vals_out).astype(np.float32)
                if vals_out
                else np.zeros(0, np.float32),
                (
                    np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64),
                    np.concatenate(cols_out) if cols_out else np.zeros(0, np.int64),
                ),
            ),
            shape=(n_items, n_items),
        )
        model.similarity.sort_indices()
        return model

    def _user_scores(self, user: int | None) -> np.ndarray | None:
        if user is None:
            return None
        return np.asarray((self.user_items[user] @ self.similarity).todense()).ravel()

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        return np.asarray(self.similarity[item].todense()).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        return _csr_arrays("similarity", self.similarity)

    def _set_arrays(self, arrays: Any) -> None:
        self.similarity = _csr_from("similarity", arrays)


class ImplicitMF(CFModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) as ``implicit`` 0.7 defines it.

    Observed entries have preference 1 and confidence ``alpha * weight``; unobserved ones
    preference 0 and confidence 1. implicit's own default is ``alpha=1``, under which a weight-1
    click is no more certain than "never seen"; 10 gives engagement its due. A user's score for an item is the factor dot product;
    item similarity is the cosine of item factors.
    """

    kind = "implicit_mf"

    user_factors: np.ndarray
    item_factors: np.ndarray

    @classmethod
    def fit(
        cls,
        interactions: Interactions,
        factors: int = 64,
        iterations: int = 15,
        regularization: float = 0.01,
        seed: int = 0,
        alpha: float = 10.0,
        use_implicit: bool = True,
        num_threads: int = 0,
        progress_cb: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> ImplicitMF:
        """Fit factors; reports progress and checks cancellation once per iteration."""
        user_items = interactions.matrix.astype(np.float32).tocsr()

        def on_iteration(iteration: int, loss: float | None, backend: str) -> None:
            _raise_if_cancelled(should_cancel, f"ALS cancelled after {iteration + 1} iterations")
            if progress_cb is not None:
                done = iteration + 1
                progress_cb(done / iterations, done, iterations, loss, {"backend": backend})

        backend = "implicit" if use_implicit else "numpy"
        if use_implicit:
            try:
                user_f, item_f = _fit_implicit(
                    user_items,
                    factors,
                    iterations,
                    regularization,
                    alpha,
                    seed,
                    num_threads,
                    lambda i, loss: on_iteration(i, loss, "implicit"),
                )
            except ImportError:
                backend = "numpy"
        if backend == "numpy":
            user_f, item_f = _fit_numpy_als(
                user_items,
                factors,
                iterations,
                regularization,
                alpha,
                seed,
                lambda i, loss: on_iteration(i, loss, "numpy"),
            )
        params = {
            "factors": factors,
            "iterations": iterations,
            "regularization": regularization,
            "alpha": alpha,
            "seed": seed,
            "backend": backend,
        }
        model = cls(user_items, interactions.user_ids, interactions.item_ids, params)
        model.user_factors = np.ascontiguousarray(user_f, dtype=np.float32)
        model.item_factors = np.ascontiguousarray(item_f, dtype=np.float32)
        return model

    def _user_scores(self, user: int | None) -> np.ndarray | None:
        if user is None:
            return None
        return self.item_factors @ self.user_factors[user]

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors, axis=1)
        norms[norms == 0] = 1.0
        return (self.item_factors @ self.item_factors[item]) / (norms * norms[item])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: Any) -> None:
        self.user_factors = np.asarray(arrays["user_factors"])
        self.item_factors = np.asarray(arrays["item_factors"])


_MODEL_CLASSES: dict[str, type[CFModel]] = {
    PopularityModel.kind: PopularityModel,
    ItemItemCF.kind: ItemItemCF,
    ImplicitMF.kind: ImplicitMF,
}


def load_cf_model(directory: str | Path) -> CFModel:
    """Load any saved CF model; its ``cf.json`` says which kind."""
    return CFModel.load(directory)


def _raise_if_cancelled(should_cancel: CancelCheck | None, message: str) -> None:
    if should_cancel is not None and should_cancel():
        raise JobCancelled(message)


def _fit_implicit(
    user_items: sp.csr_matrix,
    factors: int,
    iterations: int,
    regularization: float,
    alpha: float,
    seed: int,
    num_threads: int,
    on_iteration: Callable[[int, float | None], None],
) -> tuple[np.ndarray, np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with implicit
        threadpool_limits = None

    def fit() -> AlternatingLeastSquares:
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=seed,
            num_threads=num_threads,
        )
        model.fit(
            user_items,
            show_progress=False,
            callback=lambda iteration, _elapsed, loss: on_iteration(iteration, loss),
        )
        return model

    # implicit warns (and runs far slower) when BLAS has its own thread pool.
    if threadpool_limits is None:
        model = fit()
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            model = fit()
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def _fit_numpy_als(
    user_items: sp.csr_matrix,
    factors: int,
    iterations: int,
    regularization: float,
    alpha: float,
    seed: int,
    on_iteration: Callable[[int, float | None], None],
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ALS solves, one user (item) at a time: slow, but dependency-free."""
    rng = np.random.default_rng(seed)
    n_users, n_items = user_items.shape
    user_f = rng.random((n_users, factors)) * 0.01
    item_f = rng.random((n_items, factors)) * 0.01
    cui = user_items.astype(np.float64).tocsr()
    cui.data = cui.data * alpha
    ciu = cui.T.tocsr()
    eye = regularization * np.eye(factors)

    def solve(conf: sp.csr_matrix, fixed: np.ndarray, out: np.ndarray) -> None:
        gram = fixed.T @ fixed + eye
        for row in range(conf.shape[0]):
            start, end = conf.indptr[row], conf.indptr[row + 1]
            if start == end:
                out[row] = 0.0
                continue
            cols = conf.indices[start:end]
            confidence = conf.data[start:end]
            y = fixed[cols]
            a = gram + (y.T * (confidence - 1.0)) @ y
            b = y.T @ confidence
            out[row] = np.linalg.solve(a, b)

    for iteration in range(iterations):
        solve(cui, item_f, user_f)
        solve(ciu, user_f, item_f)
        on_iteration(iteration, None)
    return user_f, item_f


def evaluate_cf(
    model: CFModel, train: Interactions, test: Interactions, k: int = 20
) -> dict[str, float]:
    """Recall@k, NDCG@k (binary gains) and catalogue coverage on a time split.

    Evaluates each test user known to the model; the relevant items are their test items minus
    their training items (which ``recommend`` never returns). Items new in the test period stay
    relevant, so a model is not flattered by leaving them out. Coverage is the share of the
    model's items that appear in any user's top ``k``. ``users`` counts evaluated users.
    """
    rankings: dict[Hashable, list[Hashable]] = {}
    judgments: dict[Hashable, dict[Hashable, float]] = {}
    recommended: set[Hashable] = set()
    for user_id in test.user_ids:
        if user_id not in model.user_index:
            continue
        relevant = test.items_of(user_id) - train.items_of(user_id)
        if not relevant:
            continue
        ranked = [item for item, _ in model.recommend(user_id, k=k)]
        rankings[user_id] = ranked
        judgments[user_id] = dict.fromkeys(relevant, 1.0)
        recommended.update(ranked)
    return {
        f"recall@{k}": metrics.mean_over_queries(metrics.recall_at_k, rankings, judgments, k=k),
        f"ndcg@{k}": metrics.mean_over_queries(metrics.ndcg_at_k, rankings, judgments, k=k),
        "coverage": len(recommended) / model.n_items if model.n_items else 0.0,
        "users": float(len(rankings)),
    }


def popularity(interactions: Interactions) -> PopularityModel:
    """The popularity baseline, fitted (shorthand for ``PopularityModel.fit``)."""
    return PopularityModel.fit(interactions)


__all__ = [
    "CFModel",
    "ImplicitMF",
    "Interactions",
    "ItemItemCF",
    "PopularityModel",
    "build_interactions",
    "evaluate_cf",
    "load_cf_model",
    "popularity",
]
