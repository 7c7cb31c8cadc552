"""Intent at serving: the ``intent=`` override, and how the intent reorders a search's
candidates (the decisions live in ``recommend.engine.intent_actions``).

The support hook: :func:`answers_wanted` says whether a search's intent asks for the answers
block first (``support`` by default); the answers issue reads it when it adds answers to the
search body. Nothing here builds answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from recommend.engine import intent_actions
from recommend.engine.intent_actions import Behaviour, Candidate, Moved, Signals
from recommend.selectors import CategoryTree, StrategyConfig
from recommend.serving import aggregates, profiles
from recommend.serving.context import ServingContext
from recommend.serving.loaders import IntentResult
from recommend.serving.retrievers import ProductRow

#: Only the first candidates move (a page of results is rarely deeper).
WINDOW = 50
#: The shopper's engaged products that define their usual price band per category.
BAND_HISTORY = 50


def intent_choices() -> tuple[str, ...]:
    """Labels the ``intent=`` parameter accepts: the classifier's label set, the defaults'
    labels and support (the answers hook)."""
    labels = list(getattr(settings, "TRAINING_INTENT_LABELS", None) or ())
    for label in (*intent_actions.DEFAULTS, "support"):
        if label not in labels:
            labels.append(label)
    return tuple(labels)


def requested(label: str) -> IntentResult:
    """The intent a request named (``intent=``): it overrides the classifier."""
    return IntentResult(label, score=1.0, source="request", reason="the intent= parameter")


def answers_wanted(strategy: StrategyConfig, intent: IntentResult) -> bool:
    """The hook for the answers block: does this search's intent put answers first?"""
    behaviour = strategy.behaviour_for(intent.label)
    return bool(behaviour and behaviour.answers_first)


@dataclass
class IntentOutcome:
    """The reordered ``(id, score)`` list, per moved item why, and the behaviour applied."""

    scored: list[tuple[int, float]]
    moved: dict[int, Moved] = field(default_factory=dict)
    behaviour: Behaviour | None = None
    snippets: Mapping[int, list[dict]] = field(default_factory=dict)

    def explanation(self, pk: int, label: str | None) -> dict[str, Any] | None:
        moved = self.moved.get(pk)
        return moved.as_dict(label or "") if moved is not None else None


def apply_intent(
    ctx: ServingContext,
    intent: IntentResult,
    scored: Sequence[tuple[int, float]],
    rows: Mapping[int, ProductRow],
    tree: CategoryTree,
    *,
    price_range: tuple[float, float] | None = None,
) -> IntentOutcome:
    """Reorder the first :data:`WINDOW` of ``scored`` as the strategy's behaviour for the intent
    says. The scores stay the same multiset, re-assigned in the new order, so the business
    rules that follow (boosts multiply scores, then re-sort) keep the intent's order."""
    behaviour = ctx.strategy.behaviour_for(intent.label)
    if behaviour is None:
        return IntentOutcome(list(scored))
    table = aggregates.current(ctx.now)
    snippets = table.review_snippets if behaviour.review_snippets else {}
    if not behaviour.reorders():
        return IntentOutcome(list(scored), behaviour=behaviour, snippets=snippets)
    ids = [pk for pk, _ in scored]
    candidates = {
        pk: Candidate(
            id=pk,
            in_stock=rows[pk].in_stock,
            price=float(rows[pk].price or 0.0),
            category=rows[pk].category_id,
            brand=rows[pk].brand,
        )
        for pk in ids[:WINDOW]
        if pk in rows
    }
    signals = Signals(ratings=table.ratings, propensity=table.propensity)
    if behaviour.price_match > 0:
        signals.bands, signals.band_source = _price_bands(
            ctx, [candidates[pk] for pk in ids[:WINDOW] if pk in candidates], price_range
        )
    order, moved = intent_actions.rerank(ids, candidates, behaviour, signals, window=WINDOW)
    scores = [score for _, score in scored]
    return IntentOutcome(
        list(zip(order, scores, strict=True)), moved=moved, behaviour=behaviour, snippets=snippets
    )


def _price_bands(
    ctx: ServingContext, candidates: list[Candidate], price_range: tuple[float, float] | None
) -> tuple[dict, str]:
    """The shopper's usual band per category (from the products they engaged with), filled in
    with the query's band for the categories they never shopped; the query's band alone for
    an unknown shopper."""
    query = intent_actions.query_bands(candidates, price_range=price_range)
    if ctx.shopper is None:
        return query, "the query's"
    state = profiles.shopper_profile(ctx)
    engaged = list(dict.fromkeys([*state.recent_purchases, *state.recent]))[:BAND_HISTORY]
    if not engaged:
        return query, "the query's"
    from catalog.models import Product

    history = [
        (category, float(price))
        for category, price in Product.objects.filter(pk__in=engaged).values_list(
            "category_id", "price"
        )
    ]
    own = intent_actions.shopper_bands(history)
    if not own:
        return query, "the query's"
    return {**query, **own}, "your"
