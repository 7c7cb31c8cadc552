"""The request context: everything one request is served with, resolved once at its start,
and its stage timings (the ``Server-Timing`` header)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recommend import selectors
from recommend.selectors import ServedModels, ServingConfig, ShopperRef, StrategyConfig
from recommend.serving.cache import generations

MAX_SIZE = 100
DEFAULT_SIZE = 10


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
    # An operator previewing what a shopper sees (the insights' shopper page): the request is
    # served as theirs but leaves no trace — no search log, exposure, served request,
    # assignment, cached result or profile refresh (recommend.insights.preview.shopper_preview).
    read_only: bool = False
    # Redis writes deferred to the end of the request, sent in one round trip with its cached
    # result (``recommend.serving.cache.result_set``): a fresh query vector.
    cache_writes: list[tuple[str, bytes, int]] = field(default_factory=list)
    # An API request (``recommend.api.views.ServingView``) defers its cached result and its log
    # rows too, and sends them all in one round trip once its response has been sent
    # (``recommend.serving.cache.request_writes_send``).
    defer_writes: bool = False
    # Log rows deferred: ``(buffer, row, fallback)``; ``fallback(row)`` writes one directly
    # when Redis refused it.
    pushes: list[tuple[Any, dict, Callable[[dict], None]]] = field(default_factory=list)

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
    surface: str,
    *,
    shopper_external_id: str | None,
    session: str,
    now: datetime,
    simulated: bool,
    read_only: bool = False,
    read: Mapping[str, Any] | None = None,
) -> ServingContext:
    """Resolve generations, shopper, strategy (default or experiment variant) and models
    (``read``: the generations as the request's API-key round trip read them, if it did)."""
    gens = generations(read)
    config = selectors.serving_config(gens[1])
    shopper = selectors.shopper_ref(shopper_external_id)
    strategy, variant = selectors.resolve_strategy(
        surface, shopper, session, external_id=shopper_external_id, config_generation=gens[1]
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
        read_only=read_only,
    )
