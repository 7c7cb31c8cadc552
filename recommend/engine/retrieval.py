"""Retrieval interfaces, an exact in-memory vector index and the semantic search policy.

The serving code talks to :class:`VectorIndex` and :class:`LexicalIndex`, never to pgvector
or PostgreSQL full text directly, so an external engine can stand in for either without
touching the API. :class:`ExactVectorIndex` is the brute-force reference used in tests and
as the exact-scan fallback; :func:`plan_semantic_search` decides how a filtered nearest
neighbour query should run against an HNSW index.

Filters are a mapping ``{attribute: condition}`` combined with AND. A condition is a scalar
(equality), a set/list/tuple/frozenset (membership) or a :class:`Range`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "EF_SEARCH_DEFAULT",
    "EF_SEARCH_MAX",
    "EXACT_SCAN_MAX_ROWS",
    "EXACT_SCAN_MAX_SELECTIVITY",
    "FILTERED_OVERFETCH",
    "CANDIDATE_MARGIN",
    "ExactVectorIndex",
    "LexicalIndex",
    "Range",
    "SemanticPlan",
    "VectorIndex",
    "plan_semantic_search",
]

Filters = Mapping[str, Any]


@dataclass(frozen=True)
class Range:
    """An inclusive range condition; either bound may be ``None`` (open)."""

    min: float | None = None
    max: float | None = None


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over product vectors (pgvector, an external engine, ...)."""

    def search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[Hashable, float]]:
        """Up to ``k`` ``(id, cosine similarity)`` pairs, most similar first."""
        ...


@runtime_checkable
class LexicalIndex(Protocol):
    """Full-text search (PostgreSQL ``websearch_to_tsquery``, an external engine, ...)."""

    def search(
        self, query_text: str, k: int, filters: Filters | None = None
    ) -> list[tuple[Hashable, float]]:
        """Up to ``k`` ``(id, text score)`` pairs, best first; ``query_text`` is websearch
        syntax, as produced by :func:`recommend.engine.synonyms.lexical_query_text`."""
        ...


def _as_float(value: Any) -> float:
    if value is None or isinstance(value, bool | str):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class ExactVectorIndex:
    """Brute-force cosine search over an in-memory matrix (numpy).

    ``attributes`` maps an attribute name to one value per row, for filters. Rows with a zero
    vector never match (their cosine is undefined). Ties keep row order.
    """

    def __init__(
        self,
        ids: Sequence[Hashable],
        vectors: np.ndarray,
        attributes: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError("vectors must be a 2-d array with one row per id")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self._unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        self._valid = norms[:, 0] > 0
        self._ids = list(ids)
        self._attributes: dict[str, np.ndarray] = {}
        for name, values in (attributes or {}).items():
            if len(values) != len(self._ids):
                raise ValueError(f"attribute {name!r} needs one value per row")
            column = np.empty(len(values), dtype=object)
            column[:] = list(values)
            self._attributes[name] = column

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def dimension(self) -> int:
        """Vector dimension."""
        return int(self._unit.shape[1])

    def mask(self, filters: Filters | None) -> np.ndarray:
        """Boolean row mask for ``filters`` (unknown attributes raise ``KeyError``)."""
        keep = self._valid.copy()
        for name, condition in (filters or {}).items():
            column = self._attributes[name]
            if isinstance(condition, Range):
                numeric = np.array([_as_float(v) for v in column], dtype=float)
                ok = ~np.isnan(numeric)
                if condition.min is not None:
                    ok &= numeric >= condition.min
                if condition.max is not None:
                    ok &= numeric <= condition.max
            elif isinstance(condition, set | frozenset | list | tuple):
                allowed = set(condition)
                ok = np.fromiter((v in allowed for v in column), dtype=bool, count=len(column))
            else:
                ok = np.fromiter((v == condition for v in column), dtype=bool, count=len(column))
            keep &= ok
        return keep

    def search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[Hashable, float]]:
        """Exact top-``k`` by cosine similarity among rows passing ``filters``."""
        if k <= 0 or not self._ids:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise ValueError(f"query has dimension {query.shape[0]}, index {self.dimension}")
        norm = float(np.linalg.norm(query))
        if norm == 0:
            return []
        rows = np.flatnonzero(self.mask(filters))
        if rows.size == 0:
            return []
        scores = self._unit[rows] @ (query / norm)
        if rows.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            # values at the partition boundary may tie with rows left out: take them all,
            # then sort, so equal scores resolve by row order, not by partition luck
            cutoff = scores[top].min()
            top = np.flatnonzero(scores >= cutoff)
        else:
            top = np.arange(rows.size)
        order = top[np.lexsort((rows[top], -scores[top]))][:k]
        return [(self._ids[rows[i]], float(scores[i])) for i in order]


# -- semantic search policy -------------------------------------------------------------

#: pgvector's default ``hnsw.ef_search``; recall@10 about 0.99 on 50k MiniLM title vectors.
EF_SEARCH_DEFAULT = 40
#: pgvector rejects ``hnsw.ef_search`` above 1000.
EF_SEARCH_MAX = 1000
#: Scanning this many rows exactly (distance on every filtered row) stays within a few
#: milliseconds in PostgreSQL, and is always exact: below it, never use the graph.
EXACT_SCAN_MAX_ROWS = 5_000
#: A filter keeping under 2% of rows starves HNSW post-filtering (pgvector 0.6 filters after
#: the graph walk, and has no iterative scan): scan the filtered rows instead.
EXACT_SCAN_MAX_SELECTIVITY = 0.02
#: Rows fetched per wanted result when a filter is present, for the stages after retrieval
#: (rules hiding items, diversity caps) to have spare candidates.
FILTERED_OVERFETCH = 2
#: ef_search is sized so that, on average, this many times ``limit`` graph candidates pass
#: the filter (covers HNSW recall loss and the variance of the filter hit rate).
CANDIDATE_MARGIN = 2.0


@dataclass(frozen=True)
class SemanticPlan:
    """How to run one semantic query.

    ``method`` "hnsw": ``hnsw.ef_search = ef_search`` for the walk and ``ORDER BY distance
    LIMIT limit``; "exact": the same query with the index disabled (``ef_search`` is ``None``).
    """

    method: Literal["hnsw", "exact"]
    limit: int
    ef_search: int | None
    expected_rows: int


def plan_semantic_search(k: int, filter_selectivity: float, total: int) -> SemanticPlan:
    """Choose HNSW with over-fetch or an exact scan for a (possibly filtered) top-``k`` query.

    ``filter_selectivity`` is the estimated fraction of the ``total`` rows that pass the
    filters (1.0: no filter). The policy:

    - **exact** when the filtered rows are few: ``rows <= EXACT_SCAN_MAX_ROWS`` (5,000, which
      also covers any small catalogue) or ``selectivity < EXACT_SCAN_MAX_SELECTIVITY`` (2%);
    - **hnsw, unfiltered**: ``limit = k``, ``ef_search = max(40, k)``;
    - **hnsw, filtered**: ``limit = k * FILTERED_OVERFETCH`` (2) and ``ef_search =
      ceil(CANDIDATE_MARGIN * limit / selectivity)`` (at least 40): pgvector filters the
      ``ef_search`` graph candidates after the walk, so about ``ef_search * selectivity`` of
      them survive, which should be twice the rows wanted;
    - **exact** as well when that ``ef_search`` (or ``limit``) would exceed pgvector's cap of
      1000: the graph could not return enough filtered rows.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 <= filter_selectivity <= 1:
        raise ValueError(f"filter_selectivity must be in [0, 1], got {filter_selectivity}")
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    rows = math.ceil(filter_selectivity * total)
    filtered = filter_selectivity < 1
    limit = k * FILTERED_OVERFETCH if filtered else k
    if rows <= EXACT_SCAN_MAX_ROWS or filter_selectivity < EXACT_SCAN_MAX_SELECTIVITY:
        return SemanticPlan("exact", limit, None, rows)
    if not filtered:
        ef = max(EF_SEARCH_DEFAULT, k)
    else:
        ef = max(EF_SEARCH_DEFAULT, math.ceil(CANDIDATE_MARGIN * limit / filter_selectivity))
    if ef > EF_SEARCH_MAX:
        return SemanticPlan("exact", limit, None, rows)
    return SemanticPlan("hnsw", limit, ef, rows)
