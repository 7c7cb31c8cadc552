"""The SQL of the lexical retriever's BM25 (``recommend.serving.retrievers``): the query's
terms with their idf from the statistics the triggers keep, each candidate's term frequencies
looked up in its stored term counts (``Product.search_terms`` / ``search_term_counts``) or cut
from its full-text vectors, summed into Okapi BM25 (or BM25F), over the stemmed vector and,
for the ``*_exact`` scorings, the unstemmed one too; and the tsquery of its full matches
(:data:`FULL_MATCHES`), from the same statistics."""

from __future__ import annotations

from catalog.models import EXACT_SEARCH_CONFIG as EXACT_CONFIG

TERM_STATS_TABLE = "catalog_searchtermstat"
EXACT_TERM_STATS_TABLE = "catalog_searchexacttermstat"
CORPUS_STATS_TABLE = "catalog_searchcorpusstat"
#: Okapi BM25 over the product's full-text vector (title, brand/category/attributes, description
#: as PostgreSQL's English configuration stems them):
#: ``sum over query lexemes t of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``
#: with ``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))`` (never negative), ``tf`` the lexeme's
#: positions in the product, ``dl`` its distinct lexemes (``length(search_vector)``: known
#: without reading the vector) and ``N``, ``df``, ``avgdl`` over the active products from
#: ``catalog.SearchTermStat`` / ``SearchCorpusStat`` (kept by triggers). k1 1.2 (how fast
#: repeated words saturate) and b 0.75 (how much long texts are discounted) are the usual
#: defaults, those of the numpy baseline in ``bench/relevance.py``.
BM25_K1 = 1.2
BM25_B = 0.75
#: ``bm25f``: a word's occurrences count by the field they are in (the weights the generated
#: column gives them: A title, B brand/category/attributes, C description), so a word of the
#: title counts twice one of the description. A prior, not fitted to any store.
BM25F_FIELD_WEIGHTS = {"A": 2.0, "B": 1.0, "C": 1.0}
#: ``*_exact``: the query's words as typed are scored again against the unstemmed vector
#: (``search_vector_exact``) and added at this weight (see ``bm25_sql``). 1: a word found as
#: written counts as much again as a word found by its stem, a prior, not fitted to any store.
EXACT_WEIGHT = 1.0

#: The full-match tsquery of ``full_match="known_words"`` (parameter: the query text), an SQL
#: expression: ``websearch_to_tsquery``'s AND of the query's lexemes, less those no active
#: product holds (document frequency 0 in the statistics the idf reads), so that a word the
#: catalogue does not know ("good", "cheap", a misspelling) no longer makes every product a
#: partial match. An ``or`` (the synonym expansion renders each variant of the query as an AND
#: group, the groups joined by ``or``: ``tv remote or television remote``) is kept, each group
#: less its unknown words. Unchanged when no lexeme is known (a group: when none of its
#: lexemes is), and whenever the tsquery holds anything but plain lexemes, ANDs and ORs: a
#: quoted phrase or a ``-word`` exclusion keeps the query as typed (so do hyphenated and other
#: compound words, which the parser turns into phrases: "t-shirt" is ``'t-shirt' <2> 'shirt'``).
FULL_MATCH_KNOWN_SQL = (
    "(SELECT coalesce(CASE WHEN regexp_replace(w.t, '''(?:[^'']|'''')*''', '', 'g')"
    " ~ '^( & | \\| )*$' THEN (SELECT string_agg(coalesce((SELECT string_agg(x.m[1], ' & '"
    "  ORDER BY x.n) FROM regexp_matches(g.t, '(''(?:[^'']|'''')*'')', 'g')"
    # a lookup by key per query word (a join was planned as a scan of the whole statistics)
    f"  WITH ORDINALITY AS x(m, n) WHERE (SELECT s.documents FROM {TERM_STATS_TABLE} s"
    "  WHERE s.lexeme = replace(substr(x.m[1], 2, length(x.m[1]) - 2), '''''', '''')) > 0),"
    "  g.t), ' | ' ORDER BY g.n) FROM string_to_table(w.t, ' | ') WITH ORDINALITY AS g(t, n))"
    " END, w.t)::tsquery FROM (SELECT websearch_to_tsquery('english', %s)::text AS t) w)"
)
#: The full-match tsquery of ``full_match="every_word"`` (parameter: the query text).
FULL_MATCH_EVERY_SQL = "websearch_to_tsquery('english', %s)"
#: What a full match is: a product holding every query word the catalogue knows (the default),
#: or every query word (as before).
FULL_MATCHES = {"known_words": FULL_MATCH_KNOWN_SQL, "every_word": FULL_MATCH_EVERY_SQL}
DEFAULT_FULL_MATCH = "known_words"


def _frequencies(vector: str, terms: str, *, fields: bool) -> str:
    """``(lexeme, tf)`` rows of the lexemes of ``terms`` that the vector column ``vector`` of
    the candidate ``m`` holds.

    Plain: the vector cut down to those lexemes in C (mark them with weight A, keep weight
    A): unnesting whole vectors cost five times as much. With ``fields`` (BM25F), the vector
    is cut down keeping its field weights (delete every lexeme but the query's) and each
    occurrence counts :data:`BM25F_FIELD_WEIGHTS` of its field."""
    wanted = f"(SELECT array_agg(lexeme) FROM {terms})"
    if fields:
        # occurrences count 1 each, plus (weight - 1) for each of a field weighing more or
        # less: array_positions over the position weights, no subquery per lexeme (cheaper
        # than summing a CASE over unnest(weights))
        extra = "".join(
            f" + {float(w) - 1.0} * cardinality(array_positions(weights, '{f}'))"
            for f, w in BM25F_FIELD_WEIGHTS.items()
            if float(w) != 1.0
        )
        return (
            f"SELECT lexeme, greatest(cardinality(weights){extra}, 1.0) AS tf"
            f"  FROM unnest(ts_delete(m.{vector},"
            f"  tsvector_to_array(ts_delete(m.{vector}, {wanted}))))"
        )
    return (
        "SELECT lexeme, greatest(cardinality(positions), 1) AS tf FROM unnest(ts_filter("
        f"  setweight(setweight(m.{vector}, 'D'), 'A', {wanted}), '{{a}}'))"
    )


#: The place of each field weight's count in ``Product.search_term_counts``' rows.
_COUNT_INDEX = {"A": 1, "B": 2, "C": 3, "D": 4}


def _counted_frequency(counts: str, *, fields: bool) -> str:
    """:func:`_frequencies`' ``tf`` from ``counts``, a lexeme's ``{A, B, C, D}`` occurrences
    (a row of ``search_term_counts``): the same expression over the same numbers, so the same
    value of the same type (positions are counted as weights: one weight per position)."""
    occurrences = "(" + " + ".join(f"{counts}[{i}]" for i in _COUNT_INDEX.values()) + ")"
    if not fields:
        return f"greatest({occurrences}, 1)"
    extra = "".join(
        f" + {float(w) - 1.0} * {counts}[{_COUNT_INDEX[f]}]"
        for f, w in BM25F_FIELD_WEIGHTS.items()
        if float(w) != 1.0
    )
    return f"greatest({occurrences}{extra}, 1.0)"


def _terms_sql(config: str, term_table: str) -> str:
    """The query's lexemes under ``config`` (parameter: the query text) with their idf from
    ``term_table``."""
    return (
        "SELECT t.lexeme, ln(1 + (c.documents - coalesce(s.documents, 0) + 0.5)"
        "  / (coalesce(s.documents, 0) + 0.5)) AS idf"
        f"  FROM unnest(tsvector_to_array(to_tsvector('{config}', %s))) AS t(lexeme)"
        f"  CROSS JOIN {CORPUS_STATS_TABLE} c"
        f"  LEFT JOIN {term_table} s ON s.lexeme = t.lexeme WHERE c.id = 1"
    )


def _plural_root(x: str) -> str:
    """SQL of ``recommend.engine.explain.light_stem`` of the text expression ``x``: a plural
    ending stripped ("cables" -> "cable", "batteries" -> "battery", "boxes" -> "box")."""
    return (
        f"(CASE WHEN length({x}) > 4 AND {x} LIKE '%%ies' THEN left({x}, -3) || 'y'"
        f" WHEN length({x}) > 4 AND ({x} LIKE '%%ches' OR {x} LIKE '%%shes' OR {x} LIKE '%%sses'"
        f"  OR {x} LIKE '%%xes' OR {x} LIKE '%%zes') THEN left({x}, -2)"
        f" WHEN length({x}) > 3 AND {x} LIKE '%%s' AND NOT ({x} LIKE '%%ss' OR {x} LIKE '%%us'"
        f"  OR {x} LIKE '%%is') THEN left({x}, -1) ELSE {x} END)"
    )


#: The unstemmed side's query terms (parameter: the query text): each word the stemmed side
#: scores (stop words out) by its plural root, with every form of the root an unstemmed vector
#: can hold (singular and plural), and the root's idf from their summed document frequencies
#: (at most every product: a product holding two forms counts twice, a slight overestimate).
_EXACT_TERMS_SQL = (
    "exact_forms AS MATERIALIZED ("
    "  SELECT DISTINCT r.root, x.lexeme, coalesce(s.documents, 0) AS df FROM ("
    f"    SELECT {_plural_root('q.w')} AS root"
    f"    FROM unnest(tsvector_to_array(to_tsvector('{EXACT_CONFIG}', %s))) AS q(w)"
    "    WHERE to_tsvector('english', q.w) <> ''::tsvector"
    "  ) r CROSS JOIN LATERAL unnest(ARRAY[r.root, r.root || 's', r.root || 'es',"
    "    left(r.root, -1) || 'ies']) AS x(lexeme)"
    f"  LEFT JOIN {EXACT_TERM_STATS_TABLE} s ON s.lexeme = x.lexeme"
    f"  WHERE {_plural_root('x.lexeme')} = r.root"
    "), exact_terms AS MATERIALIZED ("
    "  SELECT f.root, f.lexeme, ln(1 + (c.documents - least(c.documents, d.df) + 0.5)"
    "    / (least(c.documents, d.df) + 0.5)) AS idf"
    "  FROM exact_forms f JOIN (SELECT root, sum(df) AS df FROM exact_forms GROUP BY root) d"
    f"    ON d.root = f.root CROSS JOIN {CORPUS_STATS_TABLE} c WHERE c.id = 1"
    ")"
)


def bm25_sql(
    candidates_sql: str, *, fields: bool = False, exact: bool = False, counts: bool = False
) -> str:
    """BM25 of the ``(id, search_vector[, search_vector_exact])`` rows of ``candidates_sql``,
    as ``(id, score)``; parameters: the query text (twice with ``exact``), then those of
    ``candidates_sql``.

    With ``counts`` (stemmed side only, so not with ``exact``), the candidates are ``(id,
    search_terms, search_term_counts)`` rows: each query lexeme is looked up in the candidate's
    ``search_terms`` and its frequency read from the counts at that place, where cutting the
    candidate's vector down to the query's lexemes (``counts=False``) cost most of the lexical
    stage. The same numbers in the same expressions, summed in the same order: the same scores
    to the last bit (``tests/recommend/serving/test_lexical_term_counts.py``).

    The query's lexemes are those ``to_tsvector`` makes of its text (the words
    ``websearch_to_tsquery`` looks for; operators and stop words fall out). With ``exact``,
    its words as typed, up to a plural ending, are scored a second time against the unstemmed
    vector with that vector's statistics, and added at :data:`EXACT_WEIGHT`: for a query
    "lighting", a product holding "lighting" then outranks one that only holds "light", both
    of which the stemmed side scores alike, while "lamp" and "lamps" still count as one word
    (a multi-field match of stemmed and unstemmed text)."""
    if counts and exact:
        raise ValueError("the stored counts are the stemmed vector's: no exact scoring from them")
    k1, b = float(BM25_K1), float(BM25_B)

    def saturation(tf: str, vector: str, avgdl: str, length: str | None = None) -> str:
        length = length or f"length(m.{vector})"
        return (
            f"{tf} * {k1 + 1} / ({tf} + {k1} * ({1 - b} + {b} * {length}"
            f" / coalesce((SELECT {avgdl} FROM corpus), 1)))"
        )

    score = (
        f"coalesce((SELECT sum(t.idf * {saturation('u.tf', 'search_vector', 'avgdl')})"
        f"  FROM ({_frequencies('search_vector', 'terms', fields=fields)}) u"
        "  JOIN terms t ON t.lexeme = u.lexeme), 0)"
    )
    ctes = f"WITH terms AS MATERIALIZED ({_terms_sql('english', TERM_STATS_TABLE)})"
    if exact:
        ctes += f", {_EXACT_TERMS_SQL}"
        # a root's forms add up to one term frequency
        score += (
            f" + {float(EXACT_WEIGHT)} * coalesce((SELECT sum(g.idf * "
            f"{saturation('g.tf', 'search_vector_exact', 'exact_avgdl')}) FROM ("
            "  SELECT t.root, max(t.idf) AS idf, sum(u.tf) AS tf"
            f"  FROM ({_frequencies('search_vector_exact', 'exact_terms', fields=fields)}) u"
            "  JOIN exact_terms t ON t.lexeme = u.lexeme GROUP BY t.root) g), 0)"
        )
    corpus = (
        f"{ctes}, corpus AS ("
        "  SELECT greatest(lexemes::float8 / nullif(documents, 0), 1) AS avgdl,"
        "    greatest(exact_lexemes::float8 / nullif(documents, 0), 1) AS exact_avgdl"
        f"  FROM {CORPUS_STATS_TABLE} WHERE id = 1)"
    )
    if not counts:
        return f"{corpus} SELECT m.id, {score} AS score FROM ({candidates_sql}) m"
    # Each (candidate, query lexeme) pair the candidate holds, its place found once and its tf
    # computed once (OFFSET 0 keeps the planner from inlining the expressions into every use).
    # Summed in byte order of the lexemes, the order of a tsvector, which the vector's SQL
    # sums in: floating-point addition is not associative, and products tied there stay tied.
    tf = _counted_frequency("m.search_term_counts[y.k]", fields=fields)
    contribution = saturation("u.tf", "", "avgdl", length="cardinality(m.search_terms)")
    return (
        f"{corpus} SELECT m.id, coalesce(sum(u.idf * {contribution}"
        f' ORDER BY u.lexeme COLLATE "C"), 0) AS score FROM ({candidates_sql}) m'
        f" LEFT JOIN LATERAL (SELECT y.lexeme, y.idf, {tf} AS tf FROM ("
        "  SELECT t.lexeme, t.idf, array_position(m.search_terms, t.lexeme) AS k"
        "  FROM terms t OFFSET 0) y WHERE y.k IS NOT NULL OFFSET 0) u ON true GROUP BY m.id"
    )
