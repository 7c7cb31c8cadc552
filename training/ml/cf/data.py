"""Interactions as a users × items CSR matrix, and the small array helpers every CF model
shares (top-k selection, CSR arrays for ``np.savez``, ids safe for JSON)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


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


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
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


def json_id(value: Hashable) -> Hashable:
    """numpy scalars (e.g. ids read from an array) as plain Python values for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def csr_from(prefix: str, arrays: Any) -> sp.csr_matrix:
    shape = tuple(int(n) for n in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )
