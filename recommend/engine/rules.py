"""Merchandising rules applied to a scored result list.

Rules run in a fixed order, whatever order they are listed in:

1. **Score rules** (:class:`ScoreRule`, boost or bury by category or brand) and stock
   burying (:class:`StockRule` with ``action="bury"``) change scores, in list order:
   ``new = score * multiplier + offset``. The multiplicative form keeps the relative
   order inside a boosted group and suits the non-negative scores this engine produces (RRF
   scores, ranker probabilities); on a negative score a multiplier > 1 would push the item
   *down*, so use ``offset`` there. An additive offset must be sized to the score scale:
   RRF scores are around ``1/60``, ranker probabilities in [0, 1].
2. The list is re-sorted by score (stable: equal scores keep their incoming order).
3. Out-of-stock items are removed (:class:`StockRule` with ``action="hide"``).
4. **Pins** (:class:`PinRule`) move an item to a fixed 1-based position for one query. A pin
   only moves an item that is in the list: fetch pinned ids first (:func:`pinned_ids`) and add
   them to the candidates. Hiding wins over pinning: an unbuyable item is not promoted.

Every rule that touched an item is recorded on it (:attr:`RuleItem.applied_rules`) for
explanations.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from recommend.engine.text import normalise

__all__ = [
    "AppliedRule",
    "PinRule",
    "RuleItem",
    "RulesOutcome",
    "ScoreRule",
    "StockRule",
    "apply_rules",
    "pinned_ids",
]


@dataclass(frozen=True)
class AppliedRule:
    """A rule's effect on one item."""

    name: str
    kind: Literal["boost", "bury", "pin"]
    detail: str
    score_before: float | None = None
    score_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for explanations."""
        return {
            "name": self.name,
            "kind": self.kind,
            "detail": self.detail,
            "score_before": self.score_before,
            "score_after": self.score_after,
        }


@dataclass(frozen=True)
class RuleItem:
    """A scored result with the attributes rules look at.

    ``category_ids`` holds the item's category and its ancestors, so a rule on a parent
    category reaches the whole subtree.
    """

    id: Hashable
    score: float
    category_ids: tuple[Hashable, ...] = ()
    brand: str | None = None
    in_stock: bool = True
    applied_rules: tuple[AppliedRule, ...] = ()


@dataclass(frozen=True)
class ScoreRule:
    """Boost or bury items of a category or brand: ``score * multiplier + offset``.

    With ``query`` set, the rule applies only to that (normalised) query.
    """

    name: str
    field: Literal["category", "brand"]
    value: Hashable
    multiplier: float = 1.0
    offset: float = 0.0
    query: str | None = None

    def __post_init__(self) -> None:
        if self.field not in ("category", "brand"):
            raise ValueError(f"ScoreRule.field must be 'category' or 'brand', not {self.field!r}")
        if self.multiplier < 0:
            raise ValueError("a negative multiplier would invert the ranking; use offset")
        if self.query is not None:
            object.__setattr__(self, "query", normalise(self.query))

    @property
    def kind(self) -> Literal["boost", "bury"]:
        """ "boost" when the rule raises scores, "bury" when it lowers them."""
        return (
            "boost" if self.multiplier > 1 or (self.multiplier == 1 and self.offset > 0) else "bury"
        )

    def matches(self, item: RuleItem) -> bool:
        """Whether the item belongs to the rule's category or brand."""
        if self.field == "category":
            return self.value in item.category_ids
        return (
            item.brand is not None
            and isinstance(self.value, str)
            and normalise(item.brand) == normalise(self.value)
        )


@dataclass(frozen=True)
class PinRule:
    """Show ``item_id`` at 1-based ``position`` for the (normalised) ``query``."""

    name: str
    query: str
    item_id: Hashable
    position: int

    def __post_init__(self) -> None:
        if self.position < 1:
            raise ValueError(f"pin position is 1-based, got {self.position}")
        object.__setattr__(self, "query", normalise(self.query))


@dataclass(frozen=True)
class StockRule:
    """Hide out-of-stock items, or bury them with ``score * multiplier``."""

    name: str = "out of stock"
    action: Literal["hide", "bury"] = "hide"
    multiplier: float = 0.1

    def __post_init__(self) -> None:
        if self.action not in ("hide", "bury"):
            raise ValueError(f"StockRule.action must be 'hide' or 'bury', not {self.action!r}")
        if not 0 <= self.multiplier <= 1:
            raise ValueError("StockRule.multiplier must be in [0, 1]")


Rule = ScoreRule | PinRule | StockRule


@dataclass(frozen=True)
class RulesOutcome:
    """The re-ordered items, the ids hidden, and pinned ids that were not in the list."""

    items: list[RuleItem]
    hidden: list[Hashable] = field(default_factory=list)
    missing_pins: list[Hashable] = field(default_factory=list)


def _format_effect(multiplier: float, offset: float) -> str:
    parts = []
    if multiplier != 1:
        parts.append(f"x{multiplier:g}")
    if offset:
        parts.append(f"{offset:+g}")
    return " ".join(parts) or "no change"


def pinned_ids(rules: Sequence[Rule], query: str | None) -> list[Hashable]:
    """Ids pinned for ``query``, in position order, so the caller can fetch missing ones."""
    if query is None:
        return []
    q = normalise(query)
    pins = sorted(
        (r for r in rules if isinstance(r, PinRule) and r.query == q), key=lambda r: r.position
    )
    return list(dict.fromkeys(p.item_id for p in pins))


def apply_rules(
    items: Sequence[RuleItem], rules: Sequence[Rule], *, query: str | None = None
) -> RulesOutcome:
    """Apply score rules, stock handling and pins (in that order) to a scored list."""
    q = normalise(query) if query is not None else None
    working: list[RuleItem] = list(items)

    # 1. score changes, in the order the rules are listed
    for rule in rules:
        if isinstance(rule, ScoreRule):
            if rule.query is not None and rule.query != q:
                continue
            detail = f"{rule.field} = {rule.value}: {_format_effect(rule.multiplier, rule.offset)}"
            for i, item in enumerate(working):
                if rule.matches(item):
                    new = item.score * rule.multiplier + rule.offset
                    applied = AppliedRule(rule.name, rule.kind, detail, item.score, new)
                    working[i] = replace(
                        item, score=new, applied_rules=(*item.applied_rules, applied)
                    )
        elif isinstance(rule, StockRule) and rule.action == "bury":
            detail = f"out of stock: x{rule.multiplier:g}"
            for i, item in enumerate(working):
                if not item.in_stock:
                    new = item.score * rule.multiplier
                    applied = AppliedRule(rule.name, "bury", detail, item.score, new)
                    working[i] = replace(
                        item, score=new, applied_rules=(*item.applied_rules, applied)
                    )

    # 2. re-sort; sorted() is stable so ties keep the incoming order
    working = sorted(working, key=lambda item: -item.score)

    # 3. hide out-of-stock items
    hidden: list[Hashable] = []
    if any(isinstance(r, StockRule) and r.action == "hide" for r in rules):
        hidden = [item.id for item in working if not item.in_stock]
        working = [item for item in working if item.in_stock]

    # 4. pins, lowest position first; on a clash the rule listed first keeps the position
    missing: list[Hashable] = []
    if q is not None:
        pins = sorted(
            (
                (rule.position, order, rule)
                for order, rule in enumerate(rules)
                if isinstance(rule, PinRule) and rule.query == q
            ),
            key=lambda t: (t[0], t[1]),
        )
        by_id = {item.id: item for item in working}
        chosen: list[tuple[int, PinRule]] = []
        for position, _, pin in pins:
            if pin.item_id in by_id and all(p.item_id != pin.item_id for _, p in chosen):
                chosen.append((position, pin))
            elif pin.item_id not in by_id and pin.item_id not in hidden:
                missing.append(pin.item_id)
        # take every pinned item out first, then insert by ascending position: a later
        # insertion never shifts an earlier one
        pinned = {pin.item_id for _, pin in chosen}
        working = [item for item in working if item.id not in pinned]
        next_free = 0
        for position, pin in chosen:
            item = by_id[pin.item_id]
            target = min(max(position - 1, next_free), len(working))
            applied = AppliedRule(pin.name, "pin", f"pinned at position {position} for '{q}'")
            working.insert(target, replace(item, applied_rules=(*item.applied_rules, applied)))
            next_free = target + 1
        missing = list(dict.fromkeys(missing))
    return RulesOutcome(items=working, hidden=hidden, missing_pins=missing)
