"""The CF models, all behind one interface: popularity, cosine item-kNN, EASE, implicit ALS
and BPR.

Every model answers ``recommend(user_id, k, exclude)``, ``similar_items(item_id, k)`` and
``score(user_id, item_ids)`` (what serving calls), plus ``batch_scores(rows)`` (what the
evaluation calls), and saves to a directory as ``cf.npz`` (arrays, loaded with
``allow_pickle=False``) plus ``cf.json`` (kind, parameters, id lists): no pickle, so a model
file can be read without trusting it. Ids must therefore be JSON values (str or int).

What is served stays small: kNN and EASE keep sparse top-N neighbour lists (never the dense
items × items matrix), ALS and BPR their factors.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from training.ml.cf.data import Interactions, csr_arrays, csr_from, json_id, top_indices
from training.ml.cf.factorization import fit_factors, fit_numpy_als, raise_if_cancelled
from training.ml.progress import CancelCheck, ProgressCallback

FORMAT_VERSION = 1


def binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix with every stored non-zero set to 1 (float32)."""
    out = matrix.astype(np.float32, copy=True).tocsr()
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


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

    def batch_scores(self, rows: np.ndarray) -> np.ndarray:
        """Dense scores of every item for the users at ``rows`` (len(rows) × n_items)."""
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
        return [(self.item_ids[j], float(scores[j])) for j in top_indices(scores, k)]

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
        arrays = {**csr_arrays("user_items", self.user_items), **self._arrays()}
        np.savez(path / "cf.npz", **arrays)
        config = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "params": self.params,
            "user_ids": [json_id(user) for user in self.user_ids],
            "item_ids": [json_id(item) for item in self.item_ids],
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
                csr_from("user_items", arrays),
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

    def batch_scores(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.popularity.astype(np.float32), (len(rows), 1))

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
        return cls.fit_grid(interactions, [(top_k, shrink)], block_size=block_size)[(top_k, shrink)]

    @classmethod
    def fit_grid(
        cls,
        interactions: Interactions,
        configs: Sequence[tuple[int, float]],
        block_size: int = 4096,
        should_cancel: CancelCheck | None = None,
    ) -> dict[tuple[int, float], ItemItemCF]:
        """One model per ``(top_k, shrink)``: the co-occurrence is computed once for all."""
        binary_matrix = binary(interactions.matrix)
        item_users = binary_matrix.T.tocsr()
        norms = np.sqrt(np.asarray(item_users.sum(axis=1), dtype=np.float64).ravel())
        n_items = interactions.n_items
        shrinks = sorted({float(shrink) for _, shrink in configs})
        kept: dict[tuple[int, float], list[tuple]] = {(int(k), float(s)): [] for k, s in configs}
        for start in range(0, n_items, block_size):
            raise_if_cancelled(should_cancel, "item-kNN cancelled")
            block = (item_users[start : start + block_size] @ binary_matrix).tocoo()
            rows = block.row.astype(np.int64) + start
            cols = block.col.astype(np.int64)
            counts = block.data.astype(np.float64)
            keep = rows != cols
            rows, cols, counts = rows[keep], cols[keep], counts[keep]
            for shrink in shrinks:
                vals = counts / (norms[rows] * norms[cols] + shrink)
                # Per row, best first; the rank of each entry within its row.
                order = np.lexsort((cols, -vals, rows))
                r, c, v = rows[order], cols[order], vals[order]
                rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
                for (top_k, s), parts in kept.items():
                    if s == shrink:
                        mask = rank < top_k
                        parts.append((r[mask], c[mask], v[mask]))
        models = {}
        for (top_k, shrink), parts in kept.items():
            params = {"top_k": top_k, "shrink": shrink}
            model = cls(interactions.matrix, interactions.user_ids, interactions.item_ids, params)
            model.similarity = _sparse_from_parts(parts, n_items)
            models[(top_k, shrink)] = model
        return models

    def _user_scores(self, user: int | None) -> np.ndarray | None:
        if user is None:
            return None
        return np.asarray((self.user_items[user] @ self.similarity).todense()).ravel()

    def batch_scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_items[rows] @ self.similarity).todense())

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        return np.asarray(self.similarity[item].todense()).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("similarity", self.similarity)

    def _set_arrays(self, arrays: Any) -> None:
        self.similarity = csr_from("similarity", arrays)


def _sparse_from_parts(parts: list[tuple], n_items: int) -> sp.csr_matrix:
    if parts:
        rows, cols, vals = (np.concatenate(column) for column in zip(*parts, strict=True))
    else:
        rows = cols = np.zeros(0, np.int64)
        vals = np.zeros(0, np.float32)
    matrix = sp.csr_matrix(
        (vals.astype(np.float32), (rows, cols)), shape=(n_items, n_items), dtype=np.float32
    )
    matrix.sort_indices()
    return matrix


class EASE(ItemItemCF):
    """EASE (Steck 2019): the closed-form item-item regression
    ``B = I - P / diag(P)`` with ``P = (XᵀX + λI)⁻¹`` on the binary interactions.

    The fit holds dense items × items matrices (float32: ~3 × 4 × items² bytes at its peak), so
    the caller only runs it below an item-count ceiling. What is kept and served is the
    ``top_n`` largest weights of each row, sparse, scored like item-kNN.
    """

    kind = "ease"

    @classmethod
    def fit_grid(  # type: ignore[override]
        cls,
        interactions: Interactions,
        lambdas: Sequence[float],
        top_n: int = 200,
        block_size: int = 1024,
        should_cancel: CancelCheck | None = None,
    ) -> dict[float, EASE]:
        """One model per ``λ``; the Gram matrix is computed once."""
        user_items = binary(interactions.matrix)
        gram_sparse = (user_items.T @ user_items).astype(np.float32)
        n_items = interactions.n_items
        diagonal = np.arange(n_items)
        models: dict[float, EASE] = {}
        for lam in lambdas:
            raise_if_cancelled(should_cancel, "EASE cancelled")
            gram = gram_sparse.toarray()
            gram[diagonal, diagonal] += float(lam)
            weights = np.linalg.inv(gram)
            del gram
            weights /= -np.diag(weights)[np.newaxis, :]
            weights[diagonal, diagonal] = 0.0
            parts = []
            keep = min(top_n, max(n_items - 1, 0))
            for start in range(0, n_items, block_size):
                block = weights[start : start + block_size]
                if keep <= 0:
                    break
                cols = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
                vals = np.take_along_axis(block, cols, axis=1)
                rows = np.repeat(np.arange(start, start + len(block)), keep)
                positive = vals.ravel() > 0
                parts.append((rows[positive], cols.ravel()[positive], vals.ravel()[positive]))
            del weights
            params = {"lambda": float(lam), "top_n": top_n}
            model = cls(user_items, interactions.user_ids, interactions.item_ids, params)
            model.similarity = _sparse_from_parts(parts, n_items)
            models[float(lam)] = model
        return models

    @classmethod
    def fit(  # type: ignore[override]
        cls, interactions: Interactions, lam: float = 200.0, top_n: int = 200
    ) -> EASE:
        """One EASE model (see ``fit_grid``)."""
        return cls.fit_grid(interactions, [lam], top_n=top_n)[float(lam)]


class _FactorModel(CFModel):
    """A user's score for an item is the factor dot product; item similarity is the cosine of
    item factors."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    @classmethod
    def _from_factors(
        cls, interactions: Interactions, user_items: sp.csr_matrix, factors: tuple, params: dict
    ) -> _FactorModel:
        model = cls(user_items, interactions.user_ids, interactions.item_ids, params)
        model.user_factors = np.ascontiguousarray(factors[0], dtype=np.float32)
        model.item_factors = np.ascontiguousarray(factors[1], dtype=np.float32)
        return model

    def _user_scores(self, user: int | None) -> np.ndarray | None:
        if user is None:
            return None
        return self.item_factors @ self.user_factors[user]

    def batch_scores(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T

    def _item_neighbour_scores(self, item: int) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors, axis=1)
        norms[norms == 0] = 1.0
        return (self.item_factors @ self.item_factors[item]) / (norms * norms[item])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: Any) -> None:
        self.user_factors = np.asarray(arrays["user_factors"])
        self.item_factors = np.asarray(arrays["item_factors"])


def _iteration_reporter(
    total: int,
    progress_cb: ProgressCallback | None,
    should_cancel: CancelCheck | None,
    what: str,
):
    def on_iteration(iteration: int, loss: float | None, backend: str) -> None:
        raise_if_cancelled(should_cancel, f"{what} cancelled after {iteration + 1} iterations")
        if progress_cb is not None:
            done = iteration + 1
            progress_cb(done / total, done, total, loss, {"backend": backend})

    return on_iteration


class ImplicitMF(_FactorModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) as ``implicit`` 0.7 defines it.

    Observed entries have preference 1 and confidence ``alpha * weight``; unobserved ones
    preference 0 and confidence 1. implicit's own default is ``alpha=1``, under which a weight-1
    click is no more certain than "never seen"; 10 gives engagement its due.
    """

    kind = "implicit_mf"

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
        return cls.fit_checkpoints(
            interactions,
            factors=factors,
            checkpoints=[iterations],
            regularization=regularization,
            seed=seed,
            alpha=alpha,
            use_implicit=use_implicit,
            num_threads=num_threads,
            progress_cb=progress_cb,
            should_cancel=should_cancel,
        )[iterations]

    @classmethod
    def fit_checkpoints(
        cls,
        interactions: Interactions,
        *,
        factors: int,
        checkpoints: Sequence[int],
        regularization: float,
        seed: int = 0,
        alpha: float = 10.0,
        use_implicit: bool = True,
        num_threads: int = 0,
        progress_cb: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> dict[int, ImplicitMF]:
        """One fit up to ``max(checkpoints)`` iterations: a model per checkpoint."""
        user_items = interactions.matrix.astype(np.float32).tocsr()
        total = max(checkpoints)
        report = _iteration_reporter(total, progress_cb, should_cancel, "ALS")
        backend = "implicit" if use_implicit else "numpy"
        snapshots: dict[int, tuple] = {}
        if use_implicit:
            try:
                snapshots = fit_factors(
                    "als",
                    user_items,
                    factors=factors,
                    checkpoints=checkpoints,
                    regularization=regularization,
                    alpha=alpha,
                    seed=seed,
                    num_threads=num_threads,
                    on_iteration=lambda i, loss: report(i, loss, "implicit"),
                )
            except ImportError:
                backend = "numpy"
        if backend == "numpy":
            for n in sorted(set(checkpoints)):
                snapshots[n] = fit_numpy_als(
                    user_items,
                    factors,
                    n,
                    regularization,
                    alpha,
                    seed,
                    lambda i, loss: report(i, loss, "numpy"),
                )
        return {
            n: cls._from_factors(
                interactions,
                user_items,
                snapshot,
                {
                    "factors": factors,
                    "iterations": n,
                    "regularization": regularization,
                    "alpha": alpha,
                    "seed": seed,
                    "backend": backend,
                },
            )
            for n, snapshot in snapshots.items()
        }


class BPRMF(_FactorModel):
    """Bayesian Personalised Ranking (Rendle et al. 2009), implicit's CPU implementation:
    factors learnt so that a user's items outrank sampled others (weights are ignored)."""

    kind = "bpr"

    @classmethod
    def fit(
        cls,
        interactions: Interactions,
        factors: int = 64,
        iterations: int = 100,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        seed: int = 0,
        num_threads: int = 0,
        progress_cb: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> BPRMF:
        """Fit factors; reports progress and checks cancellation once per iteration."""
        return cls.fit_checkpoints(
            interactions,
            factors=factors,
            checkpoints=[iterations],
            learning_rate=learning_rate,
            regularization=regularization,
            seed=seed,
            num_threads=num_threads,
            progress_cb=progress_cb,
            should_cancel=should_cancel,
        )[iterations]

    @classmethod
    def fit_checkpoints(
        cls,
        interactions: Interactions,
        *,
        factors: int,
        checkpoints: Sequence[int],
        learning_rate: float,
        regularization: float,
        seed: int = 0,
        num_threads: int = 0,
        progress_cb: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> dict[int, BPRMF]:
        """One fit up to ``max(checkpoints)`` epochs: a model per checkpoint. Needs
        ``implicit`` (ImportError otherwise)."""
        user_items = binary(interactions.matrix)
        report = _iteration_reporter(max(checkpoints), progress_cb, should_cancel, "BPR")
        snapshots = fit_factors(
            "bpr",
            user_items,
            factors=factors,
            checkpoints=checkpoints,
            learning_rate=learning_rate,
            regularization=regularization,
            seed=seed,
            num_threads=num_threads,
            on_iteration=lambda i, loss: report(i, loss, "implicit"),
        )
        return {
            n: cls._from_factors(
                interactions,
                user_items,
                snapshot,
                {
                    "factors": factors,
                    "iterations": n,
                    "learning_rate": learning_rate,
                    "regularization": regularization,
                    "seed": seed,
                },
            )
            for n, snapshot in snapshots.items()
        }


_MODEL_CLASSES: dict[str, type[CFModel]] = {
    model_class.kind: model_class
    for model_class in (PopularityModel, ItemItemCF, EASE, ImplicitMF, BPRMF)
}


def load_cf_model(directory: str | Path) -> CFModel:
    """Load any saved CF model; its ``cf.json`` says which kind."""
    return CFModel.load(directory)
