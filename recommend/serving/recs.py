"""Recommendations, similar items, bought-together, trending and autocomplete.

Recommendations fuse candidate lists (reciprocal rank fusion, weights from the strategy):
CF (the strategy's CF model), the shopper's profile embedding (nearest products to the
decayed mean of their engaged products' vectors), their category interests (trending in
those categories), bought-together with what they bought, and trending; then the ranker,
rules, exclusions and diversity. Cold start: an unknown or anonymous shopper gets trending;
a shopper with only a few events gets trending in the categories of those events. A short list
is filled by the fallback chain (``recommend.serving.fallback``), so it is never empty while
products pass the request's exclusions and filters. Every endpoint here takes the same product
filters as search (``recommend.serving.filters``) and names each item's ``source``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from recommend import selectors
from recommend.engine import cooccurrence, diversity, fusion
from recommend.engine.explain import ItemEvidence, because_you_viewed
from recommend.engine.exploration import ExplorationPolicy, interleave, thompson_pick
from recommend.engine.text import normalise, tokenize
from recommend.serving import aggregates, cache, fallback, loaders, profiles
from recommend.serving.context import ServingContext
from recommend.serving.features import (
    FeatureInputs,
    feature_dicts,
    popularity,
    product_ratings,
    ranker_scores,
)
from recommend.serving.filters import NO_FILTERS, ProductFilters
from recommend.serving.merchandising import apply_merchandising
from recommend.serving.payload import item_payload
from recommend.serving.retrievers import (
    PgVectorIndex,
    ProductRow,
    product_ids_for_external,
    product_rows,
)

CANDIDATES_PER_SOURCE = 100
#: CF candidates when filters apply after CF ranked the whole catalogue.
FILTERED_CF_CANDIDATES = 500
#: At most this many extra CF candidates make up for the shopper's excluded products.
MAX_EXCLUDED_EXTRA = 2000
COLD_START_EVENTS = 3
#: Bought-together candidates come from the shopper's latest purchases, at most this many.
RECENT_PURCHASE_SEEDS = 5
EXCLUDE_CHOICES = ("purchased", "seen", "none")


class UnknownProduct(LookupError):
    """The product id names no active product."""


@dataclass(frozen=True)
class RecsParams:
    size: int = 10
    context_product: str | None = None
    exclude: str = "purchased"
    filters: ProductFilters = NO_FILTERS


def _anchor(external_id: str) -> ProductRow:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM catalog_product WHERE external_id = %s AND active", [external_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise UnknownProduct(external_id)
    return product_rows([row[0]])[row[0]]


# --------------------------------------------------------------------------- CF


def cf_scores(ctx: ServingContext, ids: Sequence[int]) -> dict[int, float]:
    """The CF model's score of each product for the request's shopper (ranker feature)."""
    model = loaders.cf_model(ctx.models.cf)
    if model is None or ctx.shopper is None or not ids:
        return {}
    user = model.user_key(ctx.shopper.id, ctx.shopper.external_id)
    if model.keyed_by_external_id:
        rows = product_rows(list(ids))
        keys = [rows[pk].external_id if pk in rows else "" for pk in ids]
    else:
        keys = list(ids)
    scores = model.model.score(user, keys)
    return {pk: float(s) for pk, s in zip(ids, scores, strict=True) if s}


def _cf_to_pks(model: loaders.CFServing, pairs: list[tuple[Any, float]]) -> list[tuple[int, float]]:
    if not model.keyed_by_external_id:
        return [(int(pk), float(s)) for pk, s in pairs]
    mapping = product_ids_for_external([str(p) for p, _ in pairs])
    return [(mapping[str(p)], float(s)) for p, s in pairs if str(p) in mapping]


def _cf_candidates(ctx: ServingContext, k: int) -> list[tuple[int, float]]:
    model = loaders.cf_model(ctx.models.cf)
    if model is None or ctx.shopper is None or ctx.strategy.cf_weight <= 0:
        return []
    user = model.user_key(ctx.shopper.id, ctx.shopper.external_id)
    return _cf_to_pks(model, model.model.recommend(user, k=k, exclude_seen=False))


def _cf_similar(ctx: ServingContext, anchor: ProductRow, k: int) -> list[tuple[int, float]]:
    model = loaders.cf_model(ctx.models.cf)
    if model is None or ctx.strategy.cf_weight <= 0:
        return []
    key = anchor.external_id if model.keyed_by_external_id else anchor.id
    return _cf_to_pks(model, model.model.similar_items(key, k=k))


# --------------------------------------------------------------------------- shared tail


def _payload(
    row: ProductRow, tree, score: float, evidence: ItemEvidence, source: str | None
) -> dict[str, Any]:
    payload = item_payload(row, tree, score, evidence)
    payload["explanation"]["source"] = source
    return payload


def _finish(
    ctx: ServingContext,
    ranked: dict[str, list[tuple[int, float]]],
    weights: dict[str, float],
    *,
    size: int,
    exclude: set[int],
    personal_text: dict[int, str] | None = None,
    profile_vector: np.ndarray | None = None,
    filters: dict[str, Any] | None = None,
    chain: list[tuple[str, list[tuple[int, float]]]] | None = None,
) -> list[dict[str, Any]]:
    """Fuse, filter, rank, apply rules, diversify, fill a short list from ``chain`` (the
    fallback chain) and shape the items."""
    with ctx.stage("fusion"):
        fused = [
            f
            for f in fusion.reciprocal_rank_fusion(ranked, weights=weights, k=ctx.strategy.rrf_k)
            if f.id not in exclude
        ]
        keep = max(size * 5, 50)
        # Without filters every candidate is a product row; with them, filter before cutting.
        rows = product_rows([f.id for f in (fused if filters else fused[:keep])], filters or None)
        fused = [f for f in fused if f.id in rows][:keep]
        tree = selectors.category_tree()
        by_id = {f.id: f for f in fused}
    with ctx.stage("rank"):
        scored = [(f.id, f.score) for f in fused if f.id in rows]
        ranker_by_id: dict[int, float] = {}
        if ctx.models.ranker is not None and scored:
            ids_rows = [pk for pk, _ in scored]
            inputs = FeatureInputs(cf=cf_scores(ctx, ids_rows) if ctx.shopper else {})
            retriever = ctx.models.retriever
            if profile_vector is not None and retriever is not None:
                sims = PgVectorIndex(
                    retriever.space_id, retriever.dimension or len(profile_vector)
                ).similarities(ids_rows, [profile_vector])
                inputs.profile = sims[0]
            features = feature_dicts(
                ids_rows,
                inputs,
                {pk: rows[pk].price for pk in ids_rows},
                popularity(ids_rows, ctx.now),
                products=rows,
                ratings=product_ratings(),
            )
            probabilities = ranker_scores(ctx.models, features, ctx.strategy)
            if probabilities is not None:
                ranker_by_id = {pk: float(p) for pk, p in zip(ids_rows, probabilities, strict=True)}
                scored = sorted(((pk, ranker_by_id[pk]) for pk in ids_rows), key=lambda t: -t[1])
        outcome = apply_merchandising(ctx, scored, rows, tree)
    with ctx.stage("diversity"):
        items = outcome.items
        strategy = ctx.strategy
        if strategy.diversity == "category_cap":
            items = diversity.cap_by_group(
                items, lambda it: rows[it.id].category_id, strategy.max_category_share, size
            )
        elif strategy.diversity == "mmr" and ctx.models.retriever is not None and items:
            index = PgVectorIndex(
                ctx.models.retriever.space_id, ctx.models.retriever.dimension or 384
            )
            vectors = index.vectors([it.id for it in items])
            with_vectors = [it for it in items if it.id in vectors]
            if with_vectors:
                items = diversity.mmr(
                    with_vectors,
                    [it.score for it in with_vectors],
                    np.stack([vectors[it.id] for it in with_vectors]),
                    lambda_=strategy.mmr_lambda,
                    size=size,
                )
        items = items[:size]
    filled = fallback.Filled()
    if chain is not None and len(items) < size:
        with ctx.stage("fallback"):
            filled = fallback.fill(
                ctx,
                size - len(items),
                taken=exclude | {it.id for it in items},
                lists=chain,
                filters=filters,
                tree=tree,
            )
        rows = {**rows, **filled.rows}
        ctx.notes["fallback"] = str(len(filled.items))
    results = []
    for item in items:
        fused_item = by_id.get(item.id)
        sources = fused_item.sources if fused_item else {}
        evidence = ItemEvidence(
            id=item.id,
            sources=sources,
            personalisation=(personal_text or {}).get(item.id),
            rules=item.applied_rules,
            ranker_score=ranker_by_id.get(item.id),
        )
        source = fallback.dominant_source(sources, weights, ctx.strategy.rrf_k)
        results.append(_payload(rows[item.id], tree, item.score, evidence, source))
    for item in filled.items:
        source, rank, raw = filled.origin[item.id]
        evidence = ItemEvidence(
            id=item.id,
            sources={source: (rank, raw)},
            personalisation=(personal_text or {}).get(item.id),
            rules=item.applied_rules,
        )
        results.append(_payload(rows[item.id], tree, item.score, evidence, source))
    return results


def _because_texts(retriever, recent: list[int], candidates: list[int]) -> dict[int, str]:
    """ "because you viewed …": each candidate's most similar recently engaged product."""
    if retriever is None or not recent or not candidates:
        return {}
    dim = int(retriever.dimension or 384)
    sql = (
        "SELECT DISTINCT ON (c.product_id) c.product_id, p.title FROM training_productembedding c "
        "JOIN training_productembedding r ON r.model_version_id = c.model_version_id AND r.product_id = ANY(%s) "
        "JOIN catalog_product p ON p.id = r.product_id "
        f"WHERE c.model_version_id = {int(retriever.space_id)} AND c.product_id = ANY(%s) "
        f"ORDER BY c.product_id, (c.vector::vector({dim})) <=> (r.vector::vector({dim}))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(recent[:10]), list(candidates)])
        return {pk: because_you_viewed(title) or "" for pk, title in cursor.fetchall()}


# --------------------------------------------------------------------------- recommendations


def _trending_in(category_ids: dict[int, float], k: int, now) -> list[tuple[int, float]]:
    """Trending items interleaved across categories by interest share."""
    return cooccurrence.trending_in(aggregates.current(now).by_category, category_ids, k)


def recommendations(params: RecsParams, ctx: ServingContext) -> list[dict[str, Any]]:
    """Personal recommendations (cold-start aware); cached per profile version."""
    started = time.perf_counter()
    anchor = _anchor(params.context_product) if params.context_product else None
    filters = params.filters.engine()  # raises UnknownCategory
    key = cache.digest(
        [
            *ctx.cache_token(),
            "recs",
            params.size,
            params.context_product,
            params.exclude,
            params.filters.token(),
            ctx.shopper.id if ctx.shopper else None,
            ctx.shopper.profile_version if ctx.shopper else None,
        ]
    )
    cached = cache.result_get(key)
    if cached is not None:
        ctx.notes["cache"] = "hit"
        ctx.timings["total"] = (time.perf_counter() - started) * 1000
        return cached
    k = CANDIDATES_PER_SOURCE
    strategy = ctx.strategy
    retriever = ctx.models.retriever
    agg = aggregates.current(ctx.now)
    ranked: dict[str, list[tuple[int, float]]] = {"trending": agg.trending[:k]}
    weights = {
        "trending": strategy.trending_weight,
        "cf": strategy.cf_weight,
        "profile": strategy.profile_weight,
        "interests": strategy.interests_weight,
        "bought_together": strategy.bought_together_weight,
        "context": 1.5,
    }
    exclude: set[int] = params.filters.excluded()
    personal_text: dict[int, str] = {}
    profile_vector = None
    with ctx.stage("profile"):
        state = profiles.shopper_profile(ctx)
    if state is not None and state.event_count:
        if params.exclude == "purchased":
            exclude |= state.purchased
        elif params.exclude == "seen":
            exclude |= state.seen
        ranked["interests"] = _trending_in(state.interests, k, ctx.now)
        if state.event_count < COLD_START_EVENTS:
            # Cold start: too little history for CF or a profile vector to mean much.
            # The learned weights are for shoppers with a history (tuned on them): a cold
            # start keeps interests ahead of trending, as before any tuning.
            weights["trending"] = min(weights["trending"], 0.25)
            weights["interests"] = 1.0
            for pk in dict(ranked["interests"]):
                personal_text[pk] = "popular in categories you looked at"
        else:
            with ctx.stage("cf"):
                # CF ranks what the shopper already has too: ask for enough that the
                # excluded ones (seen or purchased) do not eat the list.
                budget = FILTERED_CF_CANDIDATES if filters else k
                ranked["cf"] = _cf_candidates(ctx, budget + min(len(exclude), MAX_EXCLUDED_EXTRA))
            if state.vector is not None and retriever is not None and strategy.profile_weight > 0:
                with ctx.stage("semantic"):
                    index = PgVectorIndex(
                        retriever.space_id, retriever.dimension or len(state.vector)
                    )
                    ranked["profile"] = [
                        (pk, sim)
                        for pk, sim in index.search_planned(
                            state.vector, k, filters or None, exclude=list(exclude)
                        ).results
                        if sim >= strategy.semantic_min_score
                    ]
                profile_vector = state.vector
            ranked["bought_together"] = cooccurrence.bought_with_any(
                state.recent_purchases[:RECENT_PURCHASE_SEEDS], agg.bought_together, k
            )
            for pk in dict(ranked["bought_together"]):
                personal_text.setdefault(pk, "often bought with what you bought")
            for pk in dict(ranked["cf"]):
                personal_text.setdefault(pk, "shoppers with similar taste liked it")
    if anchor is not None:
        exclude.add(anchor.id)
        if retriever is not None:
            index = PgVectorIndex(retriever.space_id, retriever.dimension or 384)
            vec = index.vectors([anchor.id]).get(anchor.id)
            if vec is not None:
                with ctx.stage("semantic"):
                    ranked["context"] = [
                        (pk, sim)
                        for pk, sim in index.search_planned(
                            vec, k, filters or None, exclude=[anchor.id]
                        ).results
                        if sim >= strategy.semantic_min_score
                    ]
        for rank, (pk, _) in enumerate(agg.bought_together.get(anchor.id, []), start=1):
            ranked.setdefault("context", []).append((pk, 1.0 / rank))
    if state is not None and profile_vector is not None:
        with ctx.stage("explain"):
            candidates = [pk for pk, _ in ranked.get("profile", [])]
            for pk, text in _because_texts(retriever, state.recent, candidates).items():
                if text:
                    personal_text[pk] = text
    chain = [(name, ranked[name]) for name in ("cf", "profile", "interests") if ranked.get(name)]
    chain += [("trending", agg.trending), ("popular", agg.popular)]
    results = _finish(
        ctx,
        ranked,
        weights,
        size=params.size,
        exclude=exclude,
        personal_text=personal_text,
        profile_vector=profile_vector,
        filters=filters,
        chain=chain,
    )
    if strategy.exploration_share > 0:
        with ctx.stage("explore"):
            results = _with_exploration(ctx, results, params, exclude, agg)
    if profiles.cacheable(ctx):
        cache.result_store(ctx, key, results)
    ctx.timings["total"] = (time.perf_counter() - started) * 1000
    return results


EXPLORATION_TEXT = "new to the shop or rarely shown: we are finding out whether you like it"


def _with_exploration(
    ctx: ServingContext,
    results: list[dict[str, Any]],
    params: RecsParams,
    exclude: set[int],
    agg: aggregates.Aggregates,
) -> list[dict[str, Any]]:
    """``results`` with the strategy's exploration share of slots given to barely-shown
    products (the aggregates' pool), picked by Thompson sampling on their click-through and
    spread below the top places (``recommend.engine.exploration``). Filters, exclusions and
    merchandising rules hold for them too; each says ``source: exploration``."""
    policy = ExplorationPolicy(
        share=ctx.strategy.exploration_share,
        max_impressions=ctx.strategy.exploration_max_impressions,
    )
    n = policy.slots(params.size)
    pool = {pk: (shown, clicks) for pk, shown, clicks in agg.exploration if pk not in exclude}
    if not n or not pool:
        return results
    earned = [r["product"]["id"] for r in results]
    # spares: filters, rules or the earned list may take some of the picks
    picked = thompson_pick(pool, 3 * n + len(earned), policy, np.random.default_rng())
    explored = [
        r
        for r in _listed(
            ctx,
            picked,
            "exploration",
            3 * n + len(earned),
            params.filters,
            personalisation=EXPLORATION_TEXT,
            skip=frozenset(exclude),
        )
        if r["product"]["id"] not in set(earned)
    ][:n]
    by_id = {r["product"]["id"]: r for r in [*results, *explored]}
    order = interleave(
        earned, [r["product"]["id"] for r in explored], params.size, policy.first_position
    )
    return [by_id[external_id] for external_id, _ in order]


def similar(
    external_id: str, size: int, ctx: ServingContext, filters: ProductFilters = NO_FILTERS
) -> list[dict[str, Any]]:
    """Products like this one: nearest vectors, fused with CF neighbours, within ``filters``."""
    started = time.perf_counter()
    anchor = _anchor(external_id)
    engine_filters = filters.engine()  # raises UnknownCategory
    key = cache.digest([*ctx.cache_token(), "similar", anchor.id, size, filters.token()])
    cached = cache.result_get(key)
    if cached is not None:
        ctx.notes["cache"] = "hit"
        return cached
    ranked: dict[str, list[tuple[int, float]]] = {}
    retriever = ctx.models.retriever
    if retriever is not None:
        index = PgVectorIndex(retriever.space_id, retriever.dimension or 384)
        vector = index.vectors([anchor.id]).get(anchor.id)
        if vector is not None:
            with ctx.stage("semantic"):
                ranked["semantic"] = [
                    (pk, sim)
                    for pk, sim in index.search_planned(
                        vector,
                        max(CANDIDATES_PER_SOURCE, size * 3),
                        engine_filters or None,
                        exclude=[anchor.id],
                    ).results
                    if sim >= ctx.strategy.semantic_min_score
                ]
    with ctx.stage("cf"):
        ranked["cf"] = _cf_similar(
            ctx, anchor, FILTERED_CF_CANDIDATES if engine_filters else CANDIDATES_PER_SOURCE
        )
    text = f"similar to {' '.join(anchor.title.split())}"
    personal = {pk: text for source in ranked.values() for pk, _ in source}
    results = _finish(
        ctx,
        ranked,
        {"semantic": ctx.strategy.semantic_weight, "cf": ctx.strategy.cf_weight},
        size=size,
        exclude={anchor.id} | filters.excluded(),
        personal_text=personal,
        filters=engine_filters,
    )
    cache.result_store(ctx, key, results)
    ctx.timings["total"] = (time.perf_counter() - started) * 1000
    return results


def _listed(
    ctx: ServingContext,
    pairs: Sequence[tuple[int, float]],
    source: str,
    size: int,
    filters: ProductFilters,
    *,
    personalisation: str | None = None,
    skip: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """One ranked source as a result list: filters, exclusions and merchandising applied."""
    engine_filters = filters.engine()  # raises UnknownCategory
    skip = skip | filters.excluded()
    pairs = [(pk, s) for pk, s in pairs if pk not in skip]
    if not engine_filters:
        pairs = pairs[: max(size * 3, 30)]  # rules may hide some; filters read the whole list
    rows = product_rows([pk for pk, _ in pairs], engine_filters or None)
    tree = selectors.category_tree()
    outcome = apply_merchandising(ctx, [(pk, s) for pk, s in pairs if pk in rows], rows, tree)
    rank_of = {pk: rank for rank, (pk, _) in enumerate(pairs, start=1)}
    return [
        _payload(
            rows[it.id],
            tree,
            it.score,
            ItemEvidence(
                id=it.id,
                sources={source: (rank_of[it.id], it.score)},
                personalisation=personalisation,
                rules=it.applied_rules,
            ),
            source,
        )
        for it in outcome.items[:size]
    ]


def complementary_items(
    agg: aggregates.Aggregates, category_id: int | None, tree
) -> tuple[list[tuple[int, float]], str | None]:
    """Trending products of the categories bought with ``category_id`` (or, when it has no
    basket history, with its nearest ancestor that has), interleaved so that the first few
    slots cover several complementary categories; and the name of the category they go with.
    Products of the anchor category's own subtree are left out."""
    info = tree.by_id.get(category_id) if category_id is not None else None
    if info is None:
        return [], None
    for level in info.ancestors:
        complements = agg.complementary.get(level, [])
        if complements:
            break
    else:
        return [], None
    # Complements are never an ancestor or descendant of ``level`` (the aggregates drop
    # those), so their subtrees hold none of the anchor's own category.
    lists = [agg.by_category.get(cat, []) for cat, _lift in complements]
    pairs: list[tuple[int, float]] = []
    seen: set[int] = set()
    for depth in range(max((len(items) for items in lists), default=0)):
        for rank, items in enumerate(lists):
            if depth < len(items) and items[depth][0] not in seen:
                seen.add(items[depth][0])
                # A score that keeps the interleaved order: depth first, then lift rank.
                pairs.append((items[depth][0], 1.0 / (1 + depth * len(lists) + rank)))
    return pairs, tree.by_id[level].name


def bought_with(
    external_id: str, size: int, ctx: ServingContext, filters: ProductFilters = NO_FILTERS
) -> list[dict[str, Any]]:
    """Products bought in the same baskets as this one, by lift, within ``filters``; when
    there are fewer than ``size``, trending products of the categories bought with this one's
    category fill the list (``explanation.source`` "complementary")."""
    anchor = _anchor(external_id)
    agg = aggregates.current(ctx.now)
    pairs = agg.bought_together.get(anchor.id, [])
    text = f"bought together with {' '.join(anchor.title.split())}"
    results = _listed(
        ctx,
        pairs,
        "bought_together",
        size,
        filters,
        personalisation=text,
        skip=frozenset({anchor.id}),
    )
    if len(results) < size:
        fill, category = complementary_items(agg, anchor.category_id, selectors.category_tree())
        if fill:
            taken = {anchor.id} | {pk for pk, _ in pairs}
            more = _listed(
                ctx,
                fill,
                "complementary",
                size - len(results),
                filters,
                personalisation=f"often bought with {category}",
                skip=frozenset(taken),
            )
            shown = {item["product"]["id"] for item in results}
            results += [item for item in more if item["product"]["id"] not in shown]
    return results


def trending(
    size: int, ctx: ServingContext, filters: ProductFilters = NO_FILTERS
) -> list[dict[str, Any]]:
    """Trending products, store-wide or in a category subtree, within ``filters``; raises
    :class:`~recommend.serving.filters.UnknownCategory` for an unknown category."""
    agg = aggregates.current(ctx.now)
    pairs = agg.trending
    if filters.category:
        info = selectors.category_tree().by_external.get(filters.category)
        pairs = agg.by_category.get(info.id, []) if info is not None else []
    return _listed(ctx, pairs, "trending", size, filters)


# --------------------------------------------------------------------------- autocomplete


def autocomplete(q: str, size: int, now) -> list[dict[str, Any]]:
    """Suggestions for a partly typed query: popular logged queries that start with it, then
    categories and product titles whose words start with its words."""
    text = normalise(q, 100)
    tokens = tokenize(text)
    if not tokens:
        return []
    suggestions: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(text_: str, kind: str, id_: str | None) -> None:
        key = (kind, normalise(text_))
        if key not in seen and len(suggestions) < size:
            seen.add(key)
            suggestions.append({"text": text_, "kind": kind, "id": id_})

    for query, _count in aggregates.current(now).popular_queries:
        if query.startswith(text) and query != text:
            add(query, "query", None)
            if len(suggestions) >= max(1, size // 2):
                break
    tree = selectors.category_tree()
    for info in sorted(tree.by_id.values(), key=lambda c: (c.path.count("/"), c.name)):
        words = tokenize(info.name)
        if all(any(w.startswith(t) for w in words) for t in tokens):
            add(info.name, "category", info.external_id)
            if len(suggestions) >= size:
                return suggestions
    tsquery = " & ".join("'" + t.replace("'", "''").replace("\\", "") + "':*" for t in tokens)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.external_id, m.title FROM ("
            "  SELECT p.id, p.external_id, p.title, p.search_vector FROM catalog_product p"
            "  WHERE p.active AND p.search_vector @@ to_tsquery('english', %s) LIMIT 500"
            ") m ORDER BY ts_rank_cd(m.search_vector, to_tsquery('english', %s)) DESC, m.id LIMIT %s",
            [tsquery, tsquery, size * 2],
        )
        for external_id, title in cursor.fetchall():
            add(title, "product", external_id)
    return suggestions
