"""Pieces shared by every serving surface: the request context, stage timings, parallel
database work, ranker features and scoring, merchandising rules, and the result item shape.

Django stays at these edges; the decisions are the engine's (``recommend.engine``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import close_old_connections, connection

from recommend import aggregates, loaders, selectors
from recommend.engine.explain import ItemEvidence, explanation
from recommend.engine.rules import (
    PinRule,
    RuleItem,
    RulesOutcome,
    ScoreRule,
    StockRule,
    apply_rules,
)
from recommend.retrievers import ProductRow
from recommend.selectors import (
    CategoryTree,
    ServedModels,
    ServingConfig,
    ShopperRef,
    StrategyConfig,
)
from recommend.store import generations

logger = logging.getLogger(__name__)

MAX_SIZE = 100
DEFAULT_SIZE = 10


# --------------------------------------------------------------------------- context


@dataclass
class ServingContext:
    """Everything one request is served with, resolved once at its start."""

    surface: str
    strategy: StrategyConfig
    models: ServedModels
    config: ServingConfig
    shopper: ShopperRef | None
    session: str
    variant: str | None
    shopper_external_id: str | None  # as the storefront sent it: the experiment unit
    now: datetime
    simulated: bool
    generations: tuple[int, int]
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def cache_token(self) -> list[Any]:
        return [
            self.surface,
            self.strategy.cache_token(),
            self.models.ids(),
            list(self.generations),
        ]

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = (
                self.timings.get(name, 0.0) + (time.perf_counter() - started) * 1000
            )

    def server_timing(self) -> str:
        """The ``Server-Timing`` header: each stage's milliseconds, then notes (cache, plan)."""
        parts = [f"{name};dur={ms:.2f}" for name, ms in self.timings.items()]
        parts += [f'{name};desc="{value}"' for name, value in self.notes.items()]
        return ", ".join(parts)


def serving_context(
    surface: str, *, shopper_external_id: str | None, session: str, now: datetime, simulated: bool
) -> ServingContext:
    """Resolve generations, shopper, strategy (default or experiment variant) and models."""
    gens = generations()
    config = selectors.serving_config(gens[1])
    shopper = selectors.shopper_ref(shopper_external_id)
    strategy, variant = selectors.resolve_strategy(
        surface, shopper, session, external_id=shopper_external_id
    )
    models = selectors.served_models(strategy, models_generation=gens[0])
    return ServingContext(
        surface=surface,
        strategy=strategy,
        models=models,
        config=config,
        shopper=shopper,
        session=session,
        variant=variant,
        shopper_external_id=shopper_external_id or None,
        now=now,
        simulated=simulated,
        generations=gens,
    )


# --------------------------------------------------------------------------- parallel work

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="recommend-db")


def close_pool_connections() -> None:
    """Close the database connection of every pool thread (tests, and before a database is
    dropped): one task per thread, held at a barrier so that each lands on its own thread."""
    import threading

    from django.db import connections

    workers = _pool._max_workers
    barrier = threading.Barrier(workers)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        connections.close_all()

    for future in [_pool.submit(close) for _ in range(workers)]:
        future.result()


def _run_with_connection(fn: Callable[..., Any], *args: Any) -> Any:
    close_old_connections()  # a worker thread's connection: drop it when expired or broken
    try:
        return fn(*args)
    except Exception:
        connection.close_if_unusable_or_obsolete()
        raise


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn`` on a pool thread with its own connection, or inline when the caller is inside
    a transaction: another connection could not see its uncommitted rows (tests, or
    ``ATOMIC_REQUESTS``), so both queries must share the caller's snapshot."""
    if connection.in_atomic_block:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future
    return _pool.submit(_run_with_connection, fn, *args)


# --------------------------------------------------------------------------- ranker


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class FeatureInputs:
    """Per-candidate signals; missing entries count as 0 (the ranker's convention)."""

    lexical: Mapping[int, float] = field(default_factory=dict)
    semantic: Mapping[int, float] = field(default_factory=dict)
    profile: Mapping[int, float] = field(default_factory=dict)
    cf: Mapping[int, float] = field(default_factory=dict)


#: The ranker's features: ``training.ml.ranker.FEATURES`` plus ``fusion_score`` — the
#: reciprocal rank fusion of the candidates' lexical and semantic scores within the list being
#: ranked. Without it a linear model over raw ``ts_rank_cd`` and cosine values could not even
#: reproduce the fusion order it replaces (on the simulated search log it lost to fusion).
EXTRA_FEATURES = ("fusion_score",)


def fusion_within(
    candidates: Sequence[int],
    lexical: Mapping[int, float],
    semantic: Mapping[int, float],
    k: int = 60,
) -> list[float]:
    """RRF of the lexical and the semantic ranking of ``candidates`` among themselves (an item a
    retriever scores 0 gets nothing from it)."""
    score = dict.fromkeys(candidates, 0.0)
    for source in (lexical, semantic):
        ranked = sorted(
            (pk for pk in candidates if source.get(pk, 0.0) > 0), key=lambda pk: -source[pk]
        )
        for rank, pk in enumerate(ranked, start=1):
            score[pk] += 1.0 / (k + rank)
    return [score[pk] for pk in candidates]


def feature_dicts(
    candidates: Sequence[int],
    inputs: FeatureInputs,
    prices: Mapping[int, float],
    popularity: Mapping[int, float],
) -> list[dict[str, float]]:
    """The ranker's features (``training.ml.ranker.FEATURES`` and :data:`EXTRA_FEATURES`) for
    each candidate; ``position`` is left out, i.e. fixed at serving."""
    fused = fusion_within(candidates, inputs.lexical, inputs.semantic)
    return [
        {
            "fusion_score": fused[i],
            "lexical_score": float(inputs.lexical.get(pk, 0.0)),
            "semantic_score": float(inputs.semantic.get(pk, 0.0)),
            "profile_similarity": float(inputs.profile.get(pk, 0.0)),
            "cf_score": float(inputs.cf.get(pk, 0.0)),
            "popularity": float(popularity.get(pk, 0.0)),
            "log_price": math.log1p(max(0.0, float(prices.get(pk, 0.0)))),
        }
        for i, pk in enumerate(candidates)
    ]


def ranker_scores(models: ServedModels, features: list[dict[str, float]]) -> np.ndarray | None:
    """Click probabilities from the strategy's ranker, or None when it has none."""
    scorer = loaders.ranker_scorer(models.ranker)
    if scorer is None or not features:
        return None
    return sigmoid(scorer.score_features(features, fix_position=True))


# --------------------------------------------------------------------------- rules and items


def rule_list(ctx: ServingContext, *, with_pins: bool) -> list[ScoreRule | PinRule | StockRule]:
    rules: list[ScoreRule | PinRule | StockRule] = list(ctx.config.score_rules(ctx.strategy))
    if ctx.strategy.hide_out_of_stock:
        rules.append(StockRule())
    if with_pins:
        rules.extend(ctx.config.pins)
    return rules


def apply_merchandising(
    ctx: ServingContext,
    scored: Sequence[tuple[int, float]],
    rows: Mapping[int, ProductRow],
    tree: CategoryTree,
    *,
    query: str | None = None,
) -> RulesOutcome:
    """Boosts and buries, out-of-stock handling and (for a query) pins."""
    items = []
    for pk, score in scored:
        row = rows.get(pk)
        if row is None:
            continue
        category = tree.by_id.get(row.category_id) if row.category_id else None
        items.append(
            RuleItem(
                id=pk,
                score=float(score),
                category_ids=category.ancestors if category else (),
                brand=row.brand,
                in_stock=row.in_stock,
            )
        )
    return apply_rules(items, rule_list(ctx, with_pins=query is not None), query=query)


def product_payload(row: ProductRow, tree: CategoryTree) -> dict[str, Any]:
    category = tree.by_id.get(row.category_id) if row.category_id else None
    return {
        "id": row.external_id,
        "title": row.title,
        "price": row.price,
        "currency": row.currency,
        "category": {"id": category.external_id, "name": category.name} if category else None,
        "brand": row.brand,
        "image_url": row.image_url,
        "in_stock": row.in_stock,
    }


def item_payload(
    row: ProductRow, tree: CategoryTree, score: float, evidence: ItemEvidence
) -> dict[str, Any]:
    return {
        "product": product_payload(row, tree),
        "score": round(float(score), 6),
        "explanation": explanation(evidence),
    }


# --------------------------------------------------------------------------- popularity


def popularity(product_ids: Sequence[Hashable], now: datetime) -> dict[int, float]:
    """``log1p`` of decayed engagement (from the trending aggregates) per product."""
    table = aggregates.current(now).popularity
    return {pk: table[pk] for pk in product_ids if pk in table}
