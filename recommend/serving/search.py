"""The search pipeline (Django at the edges, decisions in ``recommend.engine``).

strategy → normalise → typo correction → synonyms → intent → lexical ‖ semantic (in parallel)
→ reciprocal rank fusion → ranker (when the strategy has one) → rules (boost/bury, hide
out-of-stock, pins) → facets over the filtered candidate set → explanations → search log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.search_stats import indexed_words
from platform_core import metrics
from recommend import selectors, services
from recommend.engine import fusion, synonyms
from recommend.engine.explain import ItemEvidence, matched_terms
from recommend.engine.facets import compute_facets
from recommend.engine.query_correction import guarded_correct
from recommend.engine.rules import pinned_ids
from recommend.engine.text import normalise, tokenize
from recommend.serving import answers, cache, image_retriever, loaders, profiles
from recommend.serving import intent as serving_intent
from recommend.serving.context import ServingContext
from recommend.serving.features import (
    FeatureInputs,
    feature_dicts,
    popularity,
    product_ratings,
    ranker_scores,
)
from recommend.serving.filters import UnknownCategory, build_filters  # noqa: F401 (re-exported)
from recommend.serving.merchandising import apply_merchandising
from recommend.serving.payload import item_payload
from recommend.serving.pool import submit
from recommend.serving.retrievers import (
    DEFAULT_SCORING,
    PgVectorIndex,
    PostgresLexicalIndex,
    SemanticOutcome,
    product_rows,
)

QUERY_MAX_CHARS = 256
MIN_CANDIDATES = 100
MAX_CANDIDATES = 1000
FACET_TOP = 20
PARTIAL = "lexical_partial"
#: Fusion weight of products matching only some query words, relative to the lexical weight.
PARTIAL_WEIGHT = 0.5


@dataclass(frozen=True)
class SearchParams:
    q: str
    category: str | None = None
    brand: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    page: int = 1
    size: int = 10
    intent: str | None = None  # the intent= override (validated by the API)

    def token(self) -> dict[str, Any]:
        data = dict(vars(self))  # every field is immutable: asdict's deep copy was per request
        data["q"] = normalise(self.q, QUERY_MAX_CHARS)
        return data

    def filters_for_log(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, Decimal) else v)
            for k, v in vars(self).items()
            if k not in ("q", "page", "size", "intent") and v is not None
        }


@dataclass(frozen=True)
class PreparedQuery:
    """A normalised query after typo correction and synonym expansion."""

    corrected: str
    changed: bool
    tokens: list[str]
    expansion: synonyms.Expansion
    lexical_text: str
    semantic_text: str


def prepare_query(
    normalised: str, synonym_index: synonyms.SynonymIndex, known_words: frozenset[str] = frozenset()
) -> PreparedQuery:
    """Typo correction from the catalogue's vocabulary (real words in ``known_words``, and words
    the full-text index matches as typed, stay), then synonyms: the texts the lexical and the
    semantic retrievers receive (the ranker job prepares its queries the same way)."""
    correction = guarded_correct(
        loaders.spell_corrector(), normalised, known_words, indexed=indexed_words
    )
    tokens = tokenize(correction.corrected)
    expansion = synonyms.expand(tokens, synonym_index)
    return PreparedQuery(
        corrected=correction.corrected,
        changed=correction.changed,
        tokens=tokens,
        expansion=expansion,
        lexical_text=synonyms.lexical_query_text(expansion),
        semantic_text=synonyms.semantic_query_text(expansion),
    )


def _empty_body(params: SearchParams, reason: str, corrected: str | None = None) -> dict[str, Any]:
    return {
        "query": params.q[:QUERY_MAX_CHARS],
        "corrected_query": corrected,
        "intent": {"label": None, "reason": reason},
        "total": 0,
        "results": [],
        "facets": {"category": [], "brand": [], "price": []},
    }


def search(params: SearchParams, ctx: ServingContext) -> dict[str, Any]:
    """Serve one search; returns the response body (without ``request_id``/``variant``) and
    queues its search-log row. Stage timings land in ``ctx.timings``."""
    started = time.perf_counter()
    filters = build_filters(params)
    normalised = normalise(params.q, QUERY_MAX_CHARS)
    personal = ctx.models.ranker is not None and ctx.shopper is not None
    cache_key = cache.digest(
        [
            *ctx.cache_token(),
            params.token(),
            ctx.shopper.profile_version if personal else None,
            ctx.shopper.id if personal else None,
        ]
    )
    # The query is prepared before the cache is read, so that its vector's entry comes in the
    # same round trip as the result's.
    prepared, vector_key = None, None
    retriever = ctx.models.retriever
    if normalised and tokenize(normalised):
        with ctx.stage("spell"):
            prepared = prepare_query(
                normalised, ctx.config.synonyms, loaders.known_words(ctx.models.retriever)
            )
        if retriever is not None and ctx.strategy.semantic_weight > 0:
            vector_key = cache.query_vector_key(
                retriever.id, prepared.semantic_text, retriever.space_id
            )
    cached, raw_vector = cache.result_and_vector_get(cache_key, vector_key)
    if cached is not None:
        ctx.notes["cache"] = "hit"
        body = cached
    else:
        body = _compute(params, normalised, filters, ctx, prepared, raw_vector)
        if profiles.cacheable(ctx):  # with the query vector's write: one round trip
            cache.result_store(ctx, cache_key, body)
        elif not ctx.defer_writes:
            cache.writes_send(ctx.cache_writes)
            ctx.cache_writes.clear()
    ctx.timings["total"] = (time.perf_counter() - started) * 1000
    if ctx.read_only:  # an operator's preview: no search log, no served-search count
        return body
    _log(params, normalised, body, ctx)
    metrics.search_served(result_count=body["total"])
    return body


def _compute(
    params: SearchParams,
    normalised: str,
    filters: dict[str, Any],
    ctx: ServingContext,
    prepared: PreparedQuery | None,
    raw_vector: Any = cache.NOT_READ,
) -> dict[str, Any]:
    """``prepared``: the query after correction and synonyms (None: no searchable words);
    ``raw_vector``: its cached vector as read with the result (``cache.query_vector``)."""
    if prepared is None:
        return _empty_body(params, "the query has no searchable words")
    if "brand_id" in filters and not filters["brand_id"]:
        return _empty_body(params, "no products of this brand")
    corrected, tokens, expansion = prepared.corrected, prepared.tokens, prepared.expansion
    lexical_text, semantic_text = prepared.lexical_text, prepared.semantic_text
    wanted = min(MAX_CANDIDATES, max(MIN_CANDIDATES, params.page * params.size))

    lexical_index = PostgresLexicalIndex()
    # Each retriever's statement returns its hits' rows too: no round trip of its own for them.
    lexical_future = submit(_timed, lexical_index.search_split_rows, lexical_text, wanted, filters)

    with ctx.stage("intent"):
        if params.intent:
            intent = serving_intent.requested(params.intent)
        else:
            intent = loaders.classify_intent(ctx.models.intent, corrected)

    semantic: SemanticOutcome | None = None
    query_vector = None
    retriever = ctx.models.retriever
    if retriever is not None and ctx.strategy.semantic_weight > 0:
        with ctx.stage("encode"):
            query_vector, _hit = cache.query_vector(
                retriever.id,
                semantic_text,
                lambda text: loaders.encode_query(retriever, text),
                vector_space=retriever.space_id,
                defer=ctx.cache_writes,
                prefetched=raw_vector,
            )
        # Which encoder the encode stage timed: an int8 child shows beside its parent's space.
        ctx.notes["encoder"] = f"#{retriever.id} {retriever.precision}" + (
            f" in #{retriever.space_id}" if retriever.space_id != retriever.id else ""
        )
        dimension = retriever.dimension or int(query_vector.shape[0])
        with ctx.stage("semantic"):
            index = PgVectorIndex(retriever.space_id, dimension)
            semantic = index.search_planned(query_vector, wanted, filters or None, with_rows=True)
    (lexical_full, lexical_partial, hit_rows), lexical_ms = lexical_future.result()
    lexical = lexical_full + lexical_partial
    ctx.timings["lexical"] = lexical_ms

    semantic_hits = [
        (pk, s)
        for pk, s in (semantic.results if semantic else [])
        if s >= ctx.strategy.semantic_min_score
    ]
    image_hits: list[tuple[int, float]] = []
    if query_vector is not None and ctx.strategy.image_weight > 0:
        # Pictures widen what a meaningful query finds; they never make results out of a query
        # neither the words nor the text vectors matched (a nonsense query stays at zero).
        with ctx.stage("image"):
            image_hits, ctx.notes["image_retriever"] = image_retriever.text_image_hits(
                retriever,
                query_vector,
                limit=wanted,
                filters=filters or None,
                # contrastive training orders the pictures for a text but does not calibrate
                # their cosines (a well-trained tower can put every one below 0): no floor, the
                # gate keeps a nonsense query at zero
                min_score=-1.0,
                gated=not (lexical or semantic_hits),
            )
    with ctx.stage("fusion"):
        # Products matching only some of the query's words are weaker evidence than full
        # matches: they fuse at half the lexical weight (ranked after the full matches, as one
        # list), and show as "lexical" in explanations.
        fused = fusion.reciprocal_rank_fusion(
            {
                "lexical": lexical_full,
                PARTIAL: lexical_partial,
                "semantic": semantic_hits,
                image_retriever.SOURCE: image_hits,
            },
            weights={
                "lexical": ctx.strategy.lexical_weight,
                PARTIAL: ctx.strategy.lexical_weight * PARTIAL_WEIGHT,
                "semantic": ctx.strategy.semantic_weight,
                image_retriever.SOURCE: ctx.strategy.image_weight,
            },
            k=ctx.strategy.rrf_k,
        )
        pins = list(pinned_ids(ctx.config.pins, normalised))
        candidate_ids = [f.id for f in fused] + [
            pk for pk in pins if pk not in {f.id for f in fused}
        ]
        # The candidates' rows, with the text the page's explanations match in: the retrievers
        # read them with their hits; the rest (pins, pictures' hits) in one round trip.
        if semantic is not None:
            hit_rows = {**semantic.rows, **hit_rows}
        rows = {pk: hit_rows[pk] for pk in candidate_ids if pk in hit_rows}
        missing = [pk for pk in candidate_ids if pk not in hit_rows]
        rows.update(product_rows(missing, filters, with_text=True))
        tree = selectors.category_tree()
        by_id = {f.id: f for f in fused}

    with ctx.stage("rank"):
        scored = [(f.id, f.score) for f in fused if f.id in rows]
        ranker_by_id: dict[int, float] = {}
        scorer_ids = [pk for pk, _ in scored]
        features = None
        if ctx.models.ranker is not None and scorer_ids:
            features = _search_features(
                ctx, scorer_ids, lexical_text, query_vector, lexical, semantic, rows
            )
            probabilities = ranker_scores(ctx.models, features, ctx.strategy)
            if probabilities is not None:
                ranker_by_id = {
                    pk: float(p) for pk, p in zip(scorer_ids, probabilities, strict=True)
                }
                scored = sorted(((pk, ranker_by_id[pk]) for pk in scorer_ids), key=lambda t: -t[1])
        # Intent acts before the business rules: boosts, buries and pins still have the last word.
        acted = serving_intent.apply_intent(
            ctx, intent, scored, rows, tree, price_range=_price_range(params)
        )
        scored = acted.scored + [(pk, 0.0) for pk in pins if pk in rows and pk not in by_id]
        outcome = apply_merchandising(ctx, scored, rows, tree, query=normalised)

    with ctx.stage("facets"):
        candidates = outcome.items
        names: dict[str, str] = {}  # the candidates' categories only, not the whole tree's
        facet_rows = []
        for item in candidates:
            row = rows[item.id]
            category = tree.by_id.get(row.category_id) if row.category_id else None
            if category is not None:
                names[category.external_id] = category.name
            facet_rows.append((category.external_id if category else None, row.brand, row.price))
        facets = compute_facets(facet_rows, category_names=names, top_n=FACET_TOP)

    with ctx.stage("explain"):
        start = (params.page - 1) * params.size
        page_items = candidates[start : start + params.size]
        results = []
        for item in page_items:
            row = rows[item.id]
            fused_item = by_id.get(item.id)
            evidence = ItemEvidence(
                id=item.id,
                # a partial match shows as "lexical", after the full matches (the page's only)
                sources=_as_lexical(fused_item, offset=len(lexical_full)).sources
                if fused_item
                else {},
                matched_terms=matched_terms(tokens, row.text or row.title, expansion=expansion),
                rules=item.applied_rules,
                ranker_score=ranker_by_id.get(item.id),
                intent=acted.explanation(item.id, intent.label),
            )
            payload = item_payload(row, tree, item.score, evidence)
            if acted.behaviour is not None and acted.behaviour.review_snippets:
                payload["review_snippets"] = list(acted.snippets.get(item.id, ()))
            results.append(payload)
    if semantic is not None and semantic.plan is not None:
        ctx.notes["semantic_plan"] = semantic.plan.method + (
            " (fallback)" if semantic.fallback else ""
        )
    body = {
        "query": params.q[:QUERY_MAX_CHARS],
        "corrected_query": corrected if prepared.changed else None,
        "intent": intent.as_dict(),
        "total": len(candidates),
        "results": results,
        "facets": facets,
    }
    with ctx.stage("answers"):  # support questions: the knowledge base's answers beside products
        wanted = serving_intent.answers_wanted(ctx.strategy, intent)
        block = answers.search_answers(wanted, corrected, retriever, query_vector)
    if block is not None:
        body["answers"], category = block
        body["support_category"] = category.as_dict()
    return body


def _price_range(params: SearchParams) -> tuple[float, float] | None:
    """The query's price band when its filter names both ends."""
    if params.price_min is None or params.price_max is None:
        return None
    return float(params.price_min), float(params.price_max)


def _as_lexical(item: fusion.Fused, *, offset: int) -> fusion.Fused:
    """Report a partial lexical match under "lexical", ranked after the full matches."""
    if PARTIAL not in item.sources:
        return item
    sources = dict(item.sources)
    rank, score = sources.pop(PARTIAL)
    sources["lexical"] = (rank + offset, score)
    return fusion.Fused(id=item.id, score=item.score, sources=sources)


def _timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - started) * 1000


def _search_features(
    ctx: ServingContext, ids: list[int], lexical_text: str, query_vector, lexical, semantic, rows
) -> list[dict[str, float]]:
    """Complete every candidate's features (a lexical-only hit gets its cosine too, and vice
    versa): the ranker was trained on complete features (``training.ranking_data``)."""
    # One definition for every candidate (any-term BM25), as in training; a ranker trained
    # before its lexical feature was BM25 gets the ts_rank_cd it learned on.
    scorer = loaders.ranker_scorer(ctx.models.ranker)
    scoring = getattr(scorer, "lexical_score", DEFAULT_SCORING)
    lexical_scores = PostgresLexicalIndex(scoring=scoring).scores(lexical_text, ids)
    semantic_scores: dict[int, float] = dict(semantic.results) if semantic else {}
    profile_scores: dict[int, float] = {}
    retriever = ctx.models.retriever
    profile_vector = None
    cf_scores: dict[int, float] = {}
    if ctx.shopper is not None:
        profile_vector = profiles.shopper_profile(ctx).vector
        cf_scores = _cf_scores(ctx, ids)
    if retriever is not None and query_vector is not None:
        vectors = [query_vector] + ([profile_vector] if profile_vector is not None else [])
        sims = PgVectorIndex(
            retriever.space_id, retriever.dimension or len(query_vector)
        ).similarities(ids, vectors)
        semantic_scores = {**sims[0], **semantic_scores}
        if profile_vector is not None:
            profile_scores = sims[1]
    prices = {pk: rows[pk].price for pk in ids}
    return feature_dicts(
        ids,
        FeatureInputs(
            lexical=lexical_scores, semantic=semantic_scores, profile=profile_scores, cf=cf_scores
        ),
        prices,
        popularity(ids, ctx.now),
        products=rows,
        ratings=product_ratings(),
    )


def _cf_scores(ctx: ServingContext, ids: list[int]) -> dict[int, float]:
    from recommend.serving.recs import cf_scores

    return cf_scores(ctx, ids)


def _log(params: SearchParams, normalised: str, body: dict[str, Any], ctx: ServingContext) -> None:
    services.searchlog_record(
        defer=ctx.pushes if ctx.defer_writes else None,
        row={
            "query": params.q[:500],
            "normalised_query": normalised[:500],
            "corrected_query": body.get("corrected_query") or "",
            "shopper_id": ctx.shopper.id if ctx.shopper else None,
            "session": ctx.session,
            "result_count": body["total"],
            "latency_ms": round(ctx.timings.get("total", 0.0), 3),
            "request_id": ctx.request_id,
            "intent": (body.get("intent") or {}).get("label") or "",
            "strategy": ctx.strategy.name,
            "variant": ctx.variant or "",
            "filters": params.filters_for_log(),
            "shown_products": [r["product"]["id"] for r in body["results"]],
            "timestamp": ctx.now.isoformat(),
        },
    )
