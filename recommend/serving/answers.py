"""Answers for support questions: hybrid search over the knowledge base's passages.

query → BM25 over the passages' full-text column ‖ cosine over the serving retriever's passage
vectors → reciprocal rank fusion (the products' fusion, ``recommend.engine.fusion``) → the
best passage per source (an article or a product Q&A pair is answered once) → a confidence.

The confidence is a documented heuristic, not a calibrated probability: the passage's cosine
to the question mapped linearly from :data:`COSINE_FLOOR` (0) to :data:`COSINE_SURE` (1),
times :data:`ONE_SOURCE_FACTOR` when only one retriever found it; a lexical-only answer (no
retriever, or no vector yet) gets :data:`LEXICAL_ONLY_CONFIDENCE` times the share of the
question's words it matched. Storefronts show answers above a threshold of their choice.

The question's support category (``recommend.serving.support_category``: the classifier, else
keyword rules) is returned with the answers. A category the request names (``category=``)
restricts the answers to it; a detected one boosts its passages when the setting
``ANSWERS_CATEGORY_BOOST`` is above 0: their fused score is multiplied by
``1 + ANSWERS_CATEGORY_BOOST * probability``, so a sure category lifts its passages over near
ties and an unsure one barely moves them. The boost is off by default: on the demo store's
judged questions the hybrid's own top answer had the right category more often than the
classifier, and boosting by the classifier's category cost MRR (``bench/answers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from catalog.knowledge import selectors as knowledge
from recommend.engine import fusion, support_rules
from recommend.engine.text import normalise, tokenize
from recommend.selectors import VersionRef
from recommend.serving import cache, loaders, support_category
from recommend.serving.support_category import CategoryResult

QUERY_MAX_CHARS = 256
DEFAULT_SIZE = 3
MAX_SIZE = 20
CANDIDATES = 50
RRF_K = 60
#: Fusion weights. Support questions are sentences ("do you take credit cards"), and BM25 over
#: short help passages is easily led by one incidental word ("take" in "delivery takes two
#: days"), so a lexical rank counts half a semantic one; without a retriever, lexical is all.
FUSION_WEIGHTS = {"lexical": 0.5, "semantic": 1.0}
COSINE_FLOOR = 0.25
COSINE_SURE = 0.75
ONE_SOURCE_FACTOR = 0.8
LEXICAL_ONLY_CONFIDENCE = 0.5
#: How many answers search adds next to the products when the intent puts answers first.
SEARCH_ANSWERS = 3


@dataclass(frozen=True)
class Ranked:
    """One ranked passage: the fused result and what each retriever said of it."""

    passage_id: int
    score: float
    cosine: float | None
    bm25: float | None
    sources: tuple[str, ...]


def rank_passages(
    query: str,
    retriever: VersionRef | None,
    *,
    limit: int = CANDIDATES,
    query_vector: np.ndarray | None = None,
    use_lexical: bool = True,
    use_semantic: bool = True,
    semantic_floor: bool = True,
) -> list[Ranked]:
    """Passages for ``query``, fused best first (``use_*`` switch a retriever off and
    ``semantic_floor=False`` keeps every nearest passage: benches)."""
    lexical = knowledge.passages_bm25(query, limit) if use_lexical else []
    semantic: list[tuple[int, float]] = []
    if use_semantic and retriever is not None:
        if query_vector is None:
            query_vector, _ = cache.query_vector(
                retriever.id,
                query,
                lambda text: loaders.encode_query(retriever, text),
                retriever.space_id,
            )
        dimension = retriever.dimension or int(query_vector.shape[0])
        # As products' semantic_min_score: a passage below the confidence floor is no semantic
        # evidence (in a small knowledge base every passage is somebody's nearest neighbour).
        # the vector space's passage vectors: a quantised child serves its parent's
        semantic = [
            (pk, cosine)
            for pk, cosine in knowledge.passages_nearest(
                retriever.space_id, dimension, query_vector, limit
            )
            if cosine >= COSINE_FLOOR or not semantic_floor
        ]
    fused = fusion.reciprocal_rank_fusion(
        {"lexical": lexical, "semantic": semantic}, FUSION_WEIGHTS, k=RRF_K, limit=limit
    )
    out = []
    for item in fused:
        lex, sem = item.sources.get("lexical"), item.sources.get("semantic")
        out.append(
            Ranked(
                passage_id=int(item.id),
                score=item.score,
                cosine=sem[1] if sem else None,
                bm25=lex[1] if lex else None,
                sources=tuple(sorted(item.sources)),
            )
        )
    return out


def confidence(item: Ranked, *, query_words: list[str], text: str) -> float:
    """The heuristic of the module docstring, in [0, 1]."""
    if item.cosine is not None:
        value = (item.cosine - COSINE_FLOOR) / (COSINE_SURE - COSINE_FLOOR)
        value = min(1.0, max(0.0, value))
        return value if len(item.sources) > 1 else value * ONE_SOURCE_FACTOR
    if not query_words:
        return 0.0
    words = set(tokenize(text))
    share = sum(1 for w in query_words if w in words) / len(query_words)
    return LEXICAL_ONLY_CONFIDENCE * share


def answers(
    query: str,
    retriever: VersionRef | None,
    *,
    size: int = DEFAULT_SIZE,
    query_vector: np.ndarray | None = None,
    category: CategoryResult | None = None,
) -> list[dict[str, Any]]:
    """The best passage of each of the ``size`` best sources, as the API returns them
    (boosted by, or restricted to, ``category``: the module docstring)."""
    text = normalise(query, QUERY_MAX_CHARS)
    if not text or not tokenize(text):
        return []
    ranked = rank_passages(text, retriever, query_vector=query_vector)
    rows = knowledge.passage_rows([r.passage_id for r in ranked])
    if category is not None:
        ranked = by_category(ranked, {pk: row.category for pk, row in rows.items()}, category)
    words = tokenize(text)
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for item in ranked:
        row = rows.get(item.passage_id)
        if row is None:
            continue
        key = (row.source_type, row.source_id)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "passage": row.id,
                "heading": row.heading,
                "text": row.text,
                "category": row.category,
                "source": {
                    "type": row.source_type,
                    "id": row.source_id,
                    "title": row.source_title,
                    "kind": row.kind,
                    "url": row.source,
                    "product": row.product,
                },
                "score": round(item.score, 6),
                "confidence": round(
                    confidence(item, query_words=words, text=f"{row.heading} {row.text}"), 4
                ),
                "matched_by": list(item.sources),
            }
        )
        if len(out) >= size:
            break
    return out


def question_category(query: str, requested: str | None = None) -> CategoryResult:
    """The support category a request names, else the one detected in ``query``."""
    if requested:
        return support_category.requested(requested)
    return support_category.classify(normalise(query, QUERY_MAX_CHARS))


def by_category(
    ranked: list[Ranked],
    categories: dict[int, str],
    category: CategoryResult,
    *,
    boost: float | None = None,
) -> list[Ranked]:
    """``ranked`` restricted to a requested category, or boosted by a detected one (``boost``:
    default the setting ``ANSWERS_CATEGORY_BOOST``; 0 leaves the order alone)."""
    if category.source == "request":
        return [r for r in ranked if categories.get(r.passage_id) == category.label]
    if boost is None:
        from django.conf import settings

        boost = settings.ANSWERS_CATEGORY_BOOST
    if boost <= 0:
        return ranked
    by_id = {r.passage_id: r for r in ranked}
    order = support_rules.boosted(
        [(r.passage_id, r.score) for r in ranked],
        categories,
        category.label,
        category.score,
        boost=boost,
    )
    return [replace(by_id[pk], score=score) for pk, score in order]


def summary(
    query: str, found: list[dict[str, Any]], retriever: VersionRef | None = None
) -> dict[str, Any]:
    """A generated summary of ``found`` with citations (``recommend.engine.answer_summary``),
    or why there is none: ``off`` when no generator is configured. A summary the
    ``precompute_answer_summaries`` job wrote for this question, retriever and generator from
    these very passages is served as it is (``"precomputed": true``), without a generator call.
    """
    from django.conf import settings

    from recommend.engine.answer_summary import Passage

    source = settings.AISLE_GENERATOR_MODEL
    if not source:
        return {"status": "off", "text": "", "citations": []}
    if found:
        ahead = knowledge.precomputed_summary(
            normalise(query, QUERY_MAX_CHARS),
            retriever.id if retriever is not None else None,
            source,
            [a["passage"] for a in found],
        )
        if ahead is not None:
            return {
                "status": "ok",
                "text": ahead.text,
                "citations": list(ahead.citations),
                "precomputed": True,
            }
    summariser = loaders.answer_summariser(source)
    if summariser is None:
        return {"status": "off", "text": "", "citations": []}
    passages = [Passage(a["passage"], a["heading"], a["text"]) for a in found]
    outcome = summariser.summarise(
        normalise(query, QUERY_MAX_CHARS),
        passages,
        timeout_s=settings.ANSWERS_SUMMARY_TIMEOUT_MS / 1000,
    )
    return outcome.as_dict()


def search_answers(
    wanted: bool,
    query: str,
    retriever: VersionRef | None,
    query_vector: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], CategoryResult] | None:
    """The answers block of a search and the question's support category: the top answers
    when the strategy's behaviour for the search's intent puts answers first
    (``recommend.serving.intent.answers_wanted``: by default the ``support`` intent's), else
    None (no block)."""
    if not wanted:
        return None
    category = question_category(query)
    found = answers(
        query, retriever, size=SEARCH_ANSWERS, query_vector=query_vector, category=category
    )
    return found, category
