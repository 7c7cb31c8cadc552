"""Merchandising rules at serving: boosts and buries, out-of-stock handling and pins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recommend.engine.rules import (
    PinRule,
    RuleItem,
    RulesOutcome,
    ScoreRule,
    StockRule,
    apply_rules,
)
from recommend.selectors import CategoryTree
from recommend.serving.context import ServingContext
from recommend.serving.retrievers import ProductRow


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
