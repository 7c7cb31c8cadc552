"""PostgreSQL implementations of the engine's retrieval protocols (product rows and the filters'
SQL: ``recommend.serving.rows``, re-exported here).

- :class:`PostgresLexicalIndex` — full text on ``catalog_product.search_vector`` (GIN) with
  ``websearch_to_tsquery('english', …)``; ranks a bounded set: at most ``match_limit``
  matching rows are scored with Okapi BM25 (see :data:`BM25_K1`), never every match, from
  their stored term counts (``Product.search_term_counts``; ``term_counts=False``: from their
  vectors, as the ``*_exact`` scorings always do).
- :class:`PgVectorIndex` — pgvector over ``training_productembedding``, one partial HNSW index
  per retriever version (``(vector::vector(dim)) vector_cosine_ops WHERE model_version_id =
  id``). The SQL repeats that expression and that predicate verbatim so the planner picks the
  index. pgvector 0.6 filters *after* walking the graph, so a selective filter can starve a
  query; :func:`recommend.engine.retrieval.plan_semantic_search` decides between HNSW with
  over-fetch and a raised ``hnsw.ef_search``, and an exact scan of the filtered rows.

Filters follow the engine's convention (a mapping of attribute to condition):
``category_id`` / ``brand_id`` (sets of ids), ``price`` (:class:`Range`), ``in_stock`` (bool).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from catalog.segmentation import segment
from platform_core.bound_sql import VectorParam, bound_cursor, use_ef_search
from platform_core.caches import TimedValue
from recommend.engine import retrieval
from recommend.engine.retrieval import SemanticPlan
from recommend.serving.bm25_sql import (  # noqa: F401  (the scoring's constants, re-exported)
    BM25_B,
    BM25_K1,
    BM25F_FIELD_WEIGHTS,
    CORPUS_STATS_TABLE,
    DEFAULT_FULL_MATCH,
    EXACT_TERM_STATS_TABLE,
    EXACT_WEIGHT,
    FULL_MATCH_EVERY_SQL,
    FULL_MATCH_KNOWN_SQL,
    FULL_MATCHES,
    TERM_STATS_TABLE,
    bm25_sql,
)
from recommend.serving.pool import submit
from recommend.serving.rows import (  # noqa: F401  (re-exported: the readers of rows import them here too)
    MATCH_TEXT_SQL,
    PRODUCT_TABLE,
    ProductRow,
    filter_sql,
    product_ids_for_external,
    product_rows,
    product_texts,
    row_from,
    with_hit_rows,
)

EMBEDDING_TABLE = "training_productembedding"
LEXICAL_MATCH_LIMIT = 1000
OR_FALLBACK_BELOW = 10
#: The partial matches' tsquery (parameter: the query text): any of the query's words.
ANY_TERM_SQL = "replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')::tsquery"
SCORINGS = ("bm25", "bm25f", "bm25_exact", "bm25f_exact", "ts_rank_cd")
#: A lexeme of a tsquery's text form, with the "!" of a negation: ``!'leather'``.
_TSQUERY_WORD = re.compile(r"(!?)'((?:[^']|'')*)'")
DEFAULT_SCORING = "bm25f"
FILTER_STATS_TTL = 120.0
#: Unfiltered queries over more rows than this walk the HNSW graph (see ``search_planned``).
UNFILTERED_EXACT_MAX_ROWS = 1000


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form ``[x,y,…]``."""
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"


# --------------------------------------------------------------------------- lexical


#: A word of the query's tsquery as a quoted tsquery operand, in SQL (:func:`_quoted`).
_QUOTED_SQL = r"'''' || replace(replace(w, '\', '\\'), '''', '''''') || ''''"


def _rarest_sql(limit: int) -> str:
    """:meth:`PostgresLexicalIndex._rarest_terms` in SQL: CTEs ending in ``rarest``, whose ``q``
    is that tsquery or NULL (parameters: the query text twice). Words sort as Python sorts them
    (``COLLATE "C"``: by code point)."""
    order = 'ORDER BY s.documents, w.w COLLATE "C"'
    return (
        "words AS MATERIALIZED (SELECT DISTINCT m[1] = '!' AS negated,"
        "  replace(m[2], '''''', '''') AS w FROM regexp_matches("
        "  websearch_to_tsquery('english', %s)::text, '(!?)''((?:[^'']|'''')*)''', 'g') AS m),"
        f" known AS MATERIALIZED (SELECT w.w, s.documents AS df,"
        f"  sum(s.documents) OVER ({order}) AS running, row_number() OVER ({order}) AS n"
        "  FROM (SELECT DISTINCT w FROM words WHERE NOT negated) w"
        f"  JOIN {TERM_STATS_TABLE} s ON s.lexeme = w.w WHERE s.documents > 0"
        "  AND w.w = ANY(tsvector_to_array(to_tsvector('english', %s)))),"
        " rarest AS MATERIALIZED (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM known)"
        "  OR (NOT EXISTS (SELECT 1 FROM words WHERE negated)"
        f"  AND (SELECT sum(df) FROM known) <= {int(limit)}) THEN NULL"
        f"  ELSE ('(' || (SELECT string_agg({_QUOTED_SQL}, ' | ' ORDER BY df, w COLLATE \"C\")"
        f"  FROM known WHERE n = 1 OR running <= {int(limit)}) || ')'"
        f"  || coalesce((SELECT string_agg(' & !' || {_QUOTED_SQL}, '' ORDER BY w COLLATE \"C\")"
        "  FROM words WHERE negated), ''))::tsquery END AS q)"
    )


def _quoted(lexeme: str) -> str:
    """A lexeme as a quoted tsquery operand."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class PostgresLexicalIndex:
    """Full-text retrieval over the generated ``search_vector`` column, BM25-ranked (or
    ``ts_rank_cd``-ranked with ``scoring="ts_rank_cd"``: what it was before, for comparison).

    ``term_counts`` (the default): ``bm25`` / ``bm25f`` read the candidates' term frequencies
    from their generated ``search_terms`` / ``search_term_counts`` columns; ``False`` cuts them
    from each candidate's vector, as before (the same scores, at about twice the cost:
    ``bench/lexical_latency.py``).

    ``full_match``: which products are full matches, the rest of the candidates being partial
    ones (search fuses those at half the lexical weight): ``"known_words"`` (the default)
    those holding every query word that some active product holds
    (:data:`FULL_MATCH_KNOWN_SQL`), ``"every_word"`` those holding every query word, as before.
    The scores are the same either way (a word no product holds adds nothing to BM25)."""

    def __init__(
        self,
        match_limit: int = LEXICAL_MATCH_LIMIT,
        scoring: str = DEFAULT_SCORING,
        *,
        term_counts: bool = True,
        full_match: str = DEFAULT_FULL_MATCH,
    ) -> None:
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        if full_match not in FULL_MATCHES:
            raise ValueError(f"full_match must be one of {tuple(FULL_MATCHES)}, got {full_match!r}")
        self.full_match = full_match
        self.match_limit = match_limit
        self.scoring = scoring
        self.term_counts = term_counts and scoring in ("bm25", "bm25f")

    @property
    def _exact(self) -> bool:
        return self.scoring.endswith("_exact")

    @property
    def _columns(self) -> str:
        """The candidates' columns (after ``p.id``) that the scoring reads (``ts_rank_cd``:
        the vector, as the BM25 scorings without ``term_counts``)."""
        if self.term_counts:
            return ", p.search_terms, p.search_term_counts"
        return ", p.search_vector, p.search_vector_exact" if self._exact else ", p.search_vector"

    def _bm25(self, candidates_sql: str) -> str:
        return bm25_sql(
            candidates_sql,
            fields=self.scoring.startswith("bm25f"),
            exact=self._exact,
            counts=self.term_counts,
        )

    def _text_params(self, query_text: str) -> list[str]:
        """The query-text parameters of :meth:`_bm25`'s SQL."""
        return [query_text, query_text] if self._exact else [query_text]

    def _query(
        self,
        tsquery_sql: str,
        query_text: str,
        k: int,
        filters: Mapping[str, Any] | None,
        exclude: Sequence[int] = (),
        match_params: Sequence[Any] | None = None,
    ) -> list[tuple[Hashable, float]]:
        """``tsquery_sql`` takes ``match_params`` (default: the query text)."""
        match_params = [query_text] if match_params is None else list(match_params)
        where, params = filter_sql(filters, "p")
        if exclude:
            where += " AND NOT (p.id = ANY(%s))"
            params.append(list(exclude))
        # The tsquery expression is written out inline, not put in a CTE: inline, the planner
        # folds it to a constant and uses the GIN index (0.1 ms); joined from a CTE it took a
        # sequential scan and 13 ms of planning on 10k products.
        candidates = (
            f"SELECT p.id{self._columns} FROM {PRODUCT_TABLE} p"
            f"  WHERE p.search_vector @@ {tsquery_sql} AND {where} LIMIT {int(self.match_limit)}"
        )
        if self.scoring != "ts_rank_cd":
            sql = f"{self._bm25(candidates)} ORDER BY score DESC, m.id LIMIT {int(k)}"
        else:
            sql = (
                f"SELECT m.id, ts_rank_cd(m.search_vector, {tsquery_sql}) AS score FROM ("
                f"{candidates}) m ORDER BY score DESC, m.id LIMIT {int(k)}"
            )
        with connection.cursor() as cursor:
            if self.scoring != "ts_rank_cd":
                cursor.execute(sql, [*self._text_params(query_text), *match_params, *params])
            else:
                cursor.execute(sql, [*match_params, *match_params, *params])
            return [(row[0], float(row[1])) for row in cursor.fetchall()]

    def _rarest_terms(self, query_text: str) -> str | None:
        """A tsquery (text) of the query's rarest lexemes whose document frequencies add up to
        at most ``match_limit``, or None when all of them fit (or none is known).

        A product matching any term can be one of thousands: the bounded set would be an
        arbitrary thousand of them. BM25 adds one term's share per matched lexeme, so the
        products that match only the commonest words are the ones a partial match can best
        leave out: the candidates are those holding at least one of the rarest words (still
        required to match the query, negations included), and BM25 then scores every word."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT websearch_to_tsquery('english', %s)::text, (SELECT json_object_agg("
                "  t.lexeme, coalesce(s.documents, 0)) FROM"
                "  unnest(tsvector_to_array(to_tsvector('english', %s))) AS t(lexeme)"
                f"  LEFT JOIN {TERM_STATS_TABLE} s ON s.lexeme = t.lexeme)",
                [query_text, query_text],
            )
            tsquery, frequencies = cursor.fetchone()
        # A negated word (!'x') is no reason to be a candidate, and it excludes: in the any-word
        # query it is one more alternative (matching nearly everything), so with one the
        # candidates always come from the rarest words, without the negated ones.
        words = _TSQUERY_WORD.findall(tsquery or "")
        negated = any(bang for bang, _ in words)
        positive = {w.replace("''", "'") for bang, w in words if not bang}
        known = sorted(
            ((w, df) for w, df in (frequencies or {}).items() if w in positive and df > 0),
            key=lambda item: (item[1], item[0]),
        )
        if not known or (not negated and sum(df for _, df in known) <= self.match_limit):
            return None
        kept, total = [], 0
        for lexeme, df in known:
            if kept and total + df > self.match_limit:
                break
            kept.append(lexeme)
            total += df
        excluded = {w.replace("''", "'") for bang, w in words if bang}
        return f"({' | '.join(map(_quoted, kept))})" + "".join(
            f" & !{_quoted(w)}" for w in sorted(excluded)
        )

    def search(
        self, query_text: str, k: int, filters: Mapping[str, Any] | None = None
    ) -> list[tuple[Hashable, float]]:
        """Up to ``k`` full matches (every term the catalogue knows: ``full_match``), best
        BM25 first; when fewer than ``OR_FALLBACK_BELOW`` match them all, products matching any
        term follow."""
        strict, partial = self.search_split(query_text, k, filters)
        return strict + partial

    def search_split(
        self, query_text: str, k: int, filters: Mapping[str, Any] | None = None
    ) -> tuple[list[tuple[Hashable, float]], list[tuple[Hashable, float]]]:
        """``(full matches, partial matches)``: the partial list (any term) is filled only when
        fewer than ``OR_FALLBACK_BELOW`` products are full matches (every term, or every term
        the catalogue knows: ``full_match``)."""
        full, partial, _rows = self.search_split_rows(query_text, k, filters, with_rows=False)
        return full, partial

    def search_split_rows(
        self,
        query_text: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
        *,
        with_rows: bool = True,
    ) -> tuple[list[tuple[Hashable, float]], list[tuple[Hashable, float]], dict[int, ProductRow]]:
        """:meth:`search_split` and each hit's :class:`ProductRow` (with its match text), read
        by the same statement (search: no round trip of its own for its candidates' rows)."""
        if not query_text.strip() or k <= 0:
            return [], [], {}
        # Chinese/Japanese/Thai runs split into words as the documents were (search_text)
        query_text = segment(query_text, language=settings.CATALOG_LANGUAGE)
        if self.scoring != "ts_rank_cd":
            return self._split_in_one_statement(query_text, k, filters, with_rows)
        strict = self._query(FULL_MATCHES[self.full_match], query_text, k, filters)
        relaxed = []
        if len(strict) < min(k, OR_FALLBACK_BELOW):
            # ts_rank_cd: no rarest-terms bound (it needs the BM25 statistics)
            relaxed = self._query(
                ANY_TERM_SQL, query_text, k - len(strict), filters, exclude=[pk for pk, _ in strict]
            )
        ids = [pk for pk, _ in strict + relaxed] if with_rows else []
        return strict, relaxed, product_rows(ids, filters, with_text=True)

    def _split_in_one_statement(
        self, query_text: str, k: int, filters: Mapping[str, Any] | None, with_rows: bool
    ) -> tuple[list[tuple[Hashable, float]], list[tuple[Hashable, float]], dict[int, ProductRow]]:
        """:meth:`search_split` (BM25 scorings) as one SQL statement: the full matches, then,
        only when fewer than ``OR_FALLBACK_BELOW`` came back, the rarest-terms bound
        (:meth:`_rarest_terms`, in SQL from the same statistics) and the partial matches. The
        same products and scores as the three statements it replaces, in one round trip (the
        lexical stage runs beside the query encoder: on a loaded machine each round trip waits
        for a core)."""
        where, params = filter_sql(filters, "p")
        limit = int(self.match_limit)
        match = f"SELECT p.id{self._columns} FROM {PRODUCT_TABLE} p WHERE p.search_vector @@ "
        full = FULL_MATCHES[self.full_match]
        strict = self._bm25(f"{match}{full} AND {where} LIMIT {limit}")
        relaxed = self._bm25(
            f"{match}(CASE WHEN (SELECT q FROM rarest) IS NULL THEN {ANY_TERM_SQL}"
            f" ELSE ({ANY_TERM_SQL} && (SELECT q FROM rarest)) END) AND {where}"
            " AND NOT (p.id = ANY(ARRAY(SELECT id FROM strict)))"
            f" AND (SELECT count(*) FROM strict) < {min(int(k), OR_FALLBACK_BELOW)} LIMIT {limit}"
        )
        sql = (
            f"WITH strict AS MATERIALIZED ({strict} ORDER BY score DESC, m.id LIMIT {int(k)}), "
            f"{_rarest_sql(limit)}, relaxed AS MATERIALIZED ({relaxed} ORDER BY score DESC, m.id"
            f" LIMIT {int(k)} - (SELECT count(*) FROM strict)) "
            "SELECT id, true AS is_full, score FROM strict"
            " UNION ALL SELECT id, false, score FROM relaxed"
        )
        if with_rows:
            sql = with_hit_rows(sql, "is_full, score")
        q, text = query_text, self._text_params(query_text)
        # bound on the server: prepared on a connection's fifth search, its plan kept
        with bound_cursor() as cursor:  # strict (terms, tsquery), rarest, relaxed
            cursor.execute(sql, [*text, q, *params, q, q, *text, q, q, *params])
            rows = cursor.fetchall()
        if with_rows:  # joined: back in each list's order (score, then id)
            rows.sort(key=lambda r: (not r[1], -r[2], r[0]))
        return (
            [(r[0], float(r[2])) for r in rows if r[1]],
            [(r[0], float(r[2])) for r in rows if not r[1]],
            {r[0]: row_from(r[0], r[3:]) for r in rows} if with_rows else {},
        )

    def scores(self, query_text: str, product_ids: Sequence[int]) -> dict[int, float]:
        """The lexical score of given products (0 when they hold no query word): the ranker's
        feature, the same BM25 for every candidate, serving and training alike."""
        if not product_ids or not query_text.strip():
            return {}
        query_text = segment(query_text, language=settings.CATALOG_LANGUAGE)
        if self.scoring != "ts_rank_cd":
            candidates = f"SELECT p.id{self._columns} FROM {PRODUCT_TABLE} p WHERE p.id = ANY(%s)"
            sql = self._bm25(candidates)
        else:
            sql = (
                f"SELECT p.id, ts_rank_cd(p.search_vector, "
                f"replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')::tsquery) "
                f"FROM {PRODUCT_TABLE} p WHERE p.id = ANY(%s)"
            )
        text_params = (
            self._text_params(query_text) if self.scoring != "ts_rank_cd" else [query_text]
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*text_params, list(product_ids)])
            return {row[0]: float(row[1]) for row in cursor.fetchall()}


# --------------------------------------------------------------------------- filter statistics


@dataclass
class FilterStats:
    """Counts that estimate how many active products a filter keeps, without counting them."""

    total: int = 0
    by_category: dict[int, int] = field(default_factory=dict)
    by_brand: dict[int, int] = field(default_factory=dict)
    in_stock: int = 0
    price_quantiles: list[float] = field(default_factory=list)

    def rows(self, filters: Mapping[str, Any] | None) -> int:
        """Estimated rows passing ``filters`` (independent filters multiply)."""
        if not filters or self.total == 0:
            return self.total
        fraction = 1.0
        for name, condition in filters.items():
            if name == "category_id":
                fraction *= sum(self.by_category.get(c, 0) for c in condition) / self.total
            elif name == "brand_id":
                fraction *= sum(self.by_brand.get(b, 0) for b in condition) / self.total
            elif name == "in_stock":
                fraction *= (
                    self.in_stock if condition else self.total - self.in_stock
                ) / self.total
            elif name == "price" and self.price_quantiles:
                q = self.price_quantiles
                low = (
                    0.0
                    if condition.min is None
                    else bisect.bisect_left(q, float(condition.min)) / len(q)
                )
                high = (
                    1.0
                    if condition.max is None
                    else bisect.bisect_right(q, float(condition.max)) / len(q)
                )
                fraction *= max(high - low, 1.0 / len(q))
        return int(round(fraction * self.total))


_stats = TimedValue("recommend.filter-stats", FILTER_STATS_TTL, background=submit)


def _compute_filter_stats() -> FilterStats:
    stats = FilterStats()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT category_id, count(*) FROM {PRODUCT_TABLE} WHERE active GROUP BY 1")
        for cat, n in cursor.fetchall():
            stats.total += n
            if cat is not None:
                stats.by_category[cat] = n
        cursor.execute(
            f"SELECT brand_id, count(*) FROM {PRODUCT_TABLE} WHERE active AND brand_id IS NOT NULL GROUP BY 1"
        )
        stats.by_brand = dict(cursor.fetchall())
        cursor.execute(f"SELECT count(*) FROM {PRODUCT_TABLE} WHERE active AND stock > 0")
        stats.in_stock = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT percentile_disc(ARRAY(SELECT g / 200.0 FROM generate_series(0, 200) g)) "
            f"WITHIN GROUP (ORDER BY price) FROM {PRODUCT_TABLE} WHERE active"
        )
        row = cursor.fetchone()
        stats.price_quantiles = [float(v) for v in (row[0] or [])]
    return stats


def filter_stats() -> FilterStats:
    """Per-process for two minutes, shared through Redis for ten."""
    return _stats.get(_shared_filter_stats)


def _shared_filter_stats() -> FilterStats:
    data = cache.get("recommend:filter-stats")
    if data is None:
        data = _compute_filter_stats().__dict__
        cache.set("recommend:filter-stats", data, 600)
    return FilterStats(**data)


# --------------------------------------------------------------------------- semantic


@dataclass(frozen=True)
class SemanticOutcome:
    results: list[tuple[int, float]]
    plan: SemanticPlan | None
    fallback: bool = False
    #: The hits' rows with their match text (``with_rows=True``), read by the same statement.
    rows: dict[int, ProductRow] = field(default_factory=dict)


class PgVectorIndex:
    """Cosine nearest neighbours under one retriever version (implements ``VectorIndex``)."""

    def __init__(self, version_id: int, dimension: int) -> None:
        self.version_id = int(version_id)
        self.dimension = int(dimension)

    @property
    def _expr(self) -> str:
        # Must match the index expression of training.vectors.ensure_hnsw_index exactly.
        return f"(e.vector::vector({self.dimension}))"

    def search(
        self, vector: np.ndarray, k: int, filters: Mapping[str, Any] | None = None
    ) -> list[tuple[Hashable, float]]:
        return self.search_planned(vector, k, filters).results

    def search_planned(
        self,
        vector: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
        *,
        total: int | None = None,
        expected_rows: int | None = None,
        exclude: Sequence[int] = (),
        with_rows: bool = False,
    ) -> SemanticOutcome:
        """Top ``k`` ``(product id, cosine)``; plans HNSW vs exact from the filter's estimated
        rows, and falls back to an exact scan when a filtered HNSW walk comes back short.
        ``with_rows``: each hit's :class:`ProductRow` (with its match text) comes back from the
        same statement (search: no round trip of its own for its candidates' rows)."""
        if k <= 0:
            return SemanticOutcome([], None)
        if total is None or expected_rows is None:
            stats = filter_stats()
            total = stats.total if total is None else total
            expected_rows = stats.rows(filters) if expected_rows is None else expected_rows
        total = max(total, 1)
        selectivity = min(1.0, max(0.0, expected_rows / total)) if filters else 1.0
        want = k + len(exclude)
        plan = retrieval.plan_semantic_search(want, selectivity, total)
        if not filters and plan.method == "exact" and total > UNFILTERED_EXACT_MAX_ROWS:
            # Without a filter nothing can starve the graph, and scanning a 5,000-product
            # catalogue exactly cost 30 ms against 4 ms for the HNSW walk on a busy 2-core
            # machine: the engine's exact-scan threshold is meant for filtered queries.
            plan = SemanticPlan("hnsw", want, max(retrieval.EF_SEARCH_DEFAULT, want), total)
        query = VectorParam(vector)
        fallback = False
        if plan.method == "hnsw":
            hits, rows = self._hnsw(query, plan, filters, with_rows)
            if filters and len(hits) < min(want, plan.expected_rows):
                plan, fallback = SemanticPlan("exact", plan.limit, None, plan.expected_rows), True
        if plan.method == "exact":
            hits, rows = self._exact(query, plan, filters, with_rows)
        return SemanticOutcome(self._finish(hits, k, exclude), plan, fallback, rows)

    @staticmethod
    def _finish(
        rows: list[tuple[int, float]], k: int, exclude: Sequence[int]
    ) -> list[tuple[int, float]]:
        if exclude:
            skip = set(exclude)
            rows = [r for r in rows if r[0] not in skip]
        return rows[:k]

    @staticmethod
    def _hits(cursor, with_rows: bool) -> tuple[list[tuple[int, float]], dict[int, ProductRow]]:
        rows = cursor.fetchall()
        if not with_rows:
            return [(row[0], float(row[1])) for row in rows], {}
        rows.sort(key=lambda r: (-r[1], r[0]))  # joined: back in order (nearest, then id)
        return [(r[0], float(r[1])) for r in rows], {r[0]: row_from(r[0], r[2:]) for r in rows}

    def _hnsw(
        self,
        query: VectorParam,
        plan: SemanticPlan,
        filters: Mapping[str, Any] | None,
        with_rows: bool = False,
    ) -> tuple[list[tuple[int, float]], dict[int, ProductRow]]:
        where, params = filter_sql(filters, "p")
        sql = (
            f"SELECT e.product_id AS id, 1 - ({self._expr} <=> %s::vector) AS score"
            f" FROM {EMBEDDING_TABLE} e "
            f"JOIN {PRODUCT_TABLE} p ON p.id = e.product_id "
            f"WHERE e.model_version_id = {self.version_id} AND {where} "
            f"ORDER BY {self._expr} <=> %s::vector LIMIT {int(plan.limit)}"
        )
        if with_rows:
            sql = with_hit_rows(sql, "score")
        with bound_cursor() as cursor:  # the vector in binary; ef_search set when it changes
            use_ef_search(cursor, plan.ef_search or retrieval.EF_SEARCH_DEFAULT)
            cursor.execute(sql, [query, *params, query])
            return self._hits(cursor, with_rows)

    def _exact(
        self,
        query: VectorParam,
        plan: SemanticPlan,
        filters: Mapping[str, Any] | None,
        with_rows: bool = False,
    ) -> tuple[list[tuple[int, float]], dict[int, ProductRow]]:
        where, params = filter_sql(filters, "p")
        # "+ 0" makes the ORDER BY expression differ from the index's: the planner cannot use
        # the HNSW graph and computes every filtered row's distance (exact).
        sql = (
            f"SELECT e.product_id AS id, 1 - ({self._expr} <=> %s::vector) AS score"
            f" FROM {PRODUCT_TABLE} p "
            f"JOIN {EMBEDDING_TABLE} e ON e.product_id = p.id AND e.model_version_id = {self.version_id} "
            f"WHERE {where} ORDER BY ({self._expr} <=> %s::vector) + 0, e.product_id LIMIT {int(plan.limit)}"
        )
        if with_rows:
            sql = with_hit_rows(sql, "score")
        with bound_cursor() as cursor:
            cursor.execute(sql, [query, *params, query])
            return self._hits(cursor, with_rows)

    def similarities(
        self, product_ids: Sequence[int], vectors: Sequence[np.ndarray]
    ) -> list[dict[int, float]]:
        """Cosine of each given product to each of ``vectors`` (ranker features, profile
        similarity): one query, no vectors leave the database."""
        if not product_ids or not vectors:
            return [{} for _ in vectors]
        columns = ", ".join(f"1 - ({self._expr} <=> %s::vector)" for _ in vectors)
        sql = (
            f"SELECT e.product_id, {columns} FROM {EMBEDDING_TABLE} e "
            f"WHERE e.model_version_id = {self.version_id} AND e.product_id = ANY(%s)"
        )
        out: list[dict[int, float]] = [{} for _ in vectors]
        with bound_cursor() as cursor:
            cursor.execute(sql, [*[VectorParam(v) for v in vectors], list(product_ids)])
            for row in cursor.fetchall():
                for i in range(len(vectors)):
                    out[i][row[0]] = float(row[1 + i])
        return out

    def vectors(self, product_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of some products (profiles, MMR): parsed from pgvector's text."""
        if not product_ids:
            return {}
        sql = (
            f"SELECT e.product_id, e.vector::text FROM {EMBEDDING_TABLE} e "
            f"WHERE e.model_version_id = {self.version_id} AND e.product_id = ANY(%s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(product_ids)])
            return {
                pk: np.array(text[1:-1].split(","), dtype=np.float32)
                for pk, text in cursor.fetchall()
            }

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {EMBEDDING_TABLE} WHERE model_version_id = {self.version_id}"
            )
            return int(cursor.fetchone()[0])
