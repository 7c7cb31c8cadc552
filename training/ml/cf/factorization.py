"""Matrix factorisation backends: implicit's ALS and BPR on CPU, and a plain numpy ALS with the
same objective for when ``implicit`` cannot be imported.

``fit_factors`` trains once up to the largest requested iteration count and snapshots the
factors at every count asked for, so a grid over iterations costs one fit, not one per value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from training.ml.progress import CancelCheck, JobCancelled

Factors = tuple[np.ndarray, np.ndarray]
OnIteration = Callable[[int, float | None], None]


def raise_if_cancelled(should_cancel: CancelCheck | None, message: str) -> None:
    if should_cancel is not None and should_cancel():
        raise JobCancelled(message)


def fit_factors(
    method: str,
    user_items: sp.csr_matrix,
    *,
    factors: int,
    checkpoints: Sequence[int],
    regularization: float,
    seed: int,
    alpha: float = 1.0,
    learning_rate: float = 0.01,
    num_threads: int = 0,
    on_iteration: OnIteration,
) -> dict[int, Factors]:
    """``{iterations: (user_factors, item_factors)}`` for each of ``checkpoints``.

    ``method`` is ``als`` or ``bpr``. Raises ImportError when ``implicit`` is missing (the
    caller falls back to ``fit_numpy_als`` for ALS; BPR has no fallback).
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with implicit
        threadpool_limits = None

    wanted = sorted(set(checkpoints))
    iterations = wanted[-1]

    def build():
        if method == "als":
            model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=alpha,
                iterations=iterations,
                random_state=seed,
                num_threads=num_threads,
            )
        elif method == "bpr":
            model = BayesianPersonalizedRanking(
                factors=factors,
                learning_rate=learning_rate,
                regularization=regularization,
                iterations=iterations,
                random_state=seed,
                num_threads=num_threads,
            )
        else:
            raise ValueError(f"unknown factorisation method {method!r}")
        return model

    model = None
    snapshots: dict[int, Factors] = {}

    def callback(iteration: int, _elapsed: float, *stats: float) -> None:
        # ALS passes its loss; BPR its share of correctly ordered samples (not a loss).
        loss = stats[0] if stats and method == "als" else None
        done = iteration + 1
        if done in wanted:
            snapshots[done] = (np.array(model.user_factors), np.array(model.item_factors))
        on_iteration(iteration, loss)

    def fit() -> None:
        nonlocal model
        model = build()  # built inside the limit: implicit checks the BLAS pool when built
        model.fit(user_items, show_progress=False, callback=callback)

    # implicit warns (and runs far slower) when BLAS has its own thread pool.
    if threadpool_limits is None:
        fit()
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            fit()
    # The last iteration's state, also when the callback was not called (e.g. no interactions).
    snapshots.setdefault(iterations, (np.array(model.user_factors), np.array(model.item_factors)))
    return {n: snapshots.get(n, snapshots[iterations]) for n in wanted}


def fit_numpy_als(
    user_items: sp.csr_matrix,
    factors: int,
    iterations: int,
    regularization: float,
    alpha: float,
    seed: int,
    on_iteration: OnIteration,
) -> Factors:
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
