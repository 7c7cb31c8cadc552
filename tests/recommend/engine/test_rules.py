"""Boost, bury, stock and pin rules."""

import pytest

from recommend.engine.rules import (
    PinRule,
    RuleItem,
    ScoreRule,
    StockRule,
    apply_rules,
    pinned_ids,
)


def items():
    return [
        RuleItem("p1", 0.9, category_ids=(10, 1), brand="Zeta"),
        RuleItem("p2", 0.8, category_ids=(20, 2), brand="Acme"),
        RuleItem("p3", 0.7, category_ids=(11, 1), brand="Acme", in_stock=False),
        RuleItem("p4", 0.6, category_ids=(20, 2), brand="Other"),
    ]


def ids(outcome):
    return [item.id for item in outcome.items]


def test_multiplicative_brand_boost_reorders_and_is_recorded():
    outcome = apply_rules(items(), [ScoreRule("acme boost", "brand", "ACME", multiplier=1.5)])
    assert ids(outcome) == ["p2", "p3", "p1", "p4"]  # 1.2, 1.05, 0.9, 0.6
    p2 = outcome.items[0]
    assert p2.score == pytest.approx(1.2)
    (applied,) = p2.applied_rules
    assert (applied.name, applied.kind) == ("acme boost", "boost")
    assert applied.score_before == 0.8
    assert applied.score_after == pytest.approx(1.2)
    assert outcome.items[2].applied_rules == ()


def test_bury_reaches_subcategories_through_ancestors():
    outcome = apply_rules(items(), [ScoreRule("bury 1", "category", 1, multiplier=0.5)])
    assert ids(outcome) == ["p2", "p4", "p1", "p3"]
    assert outcome.items[2].applied_rules[0].kind == "bury"


def test_additive_rules_and_query_scope():
    rule = ScoreRule("other for tv", "brand", "other", offset=0.35, query="TV ")
    assert ids(apply_rules(items(), [rule], query="tv")) == ["p4", "p1", "p2", "p3"]
    assert ids(apply_rules(items(), [rule], query="radio")) == ["p1", "p2", "p3", "p4"]
    assert rule.kind == "boost"
    assert ScoreRule("x", "brand", "a", offset=-0.1).kind == "bury"


def test_hide_and_bury_out_of_stock():
    hidden = apply_rules(items(), [StockRule()])
    assert ids(hidden) == ["p1", "p2", "p4"]
    assert hidden.hidden == ["p3"]
    buried = apply_rules(items(), [StockRule(action="bury", multiplier=0.5)])
    assert ids(buried) == ["p1", "p2", "p4", "p3"]
    assert buried.items[-1].applied_rules[0].detail == "out of stock: x0.5"


def test_pins_place_items_at_positions_for_their_query_only():
    many = [RuleItem(f"i{n}", 1 - n / 100) for n in range(10)]
    rules = [PinRule("promo", "Summer Sale", "i9", 3), PinRule("hero", "summer sale", "i0", 5)]
    out = ids(apply_rules(many, rules, query="summer  sale"))
    assert out[2] == "i9" and out[4] == "i0"
    assert out == ["i1", "i2", "i9", "i3", "i0", "i4", "i5", "i6", "i7", "i8"]
    assert ids(apply_rules(many, rules, query="winter")) == [f"i{n}" for n in range(10)]
    assert pinned_ids(rules, "SUMMER sale") == ["i9", "i0"]


def test_pin_clash_keeps_the_first_rule_and_reports_missing_items():
    base = [RuleItem(f"i{n}", 1 - n / 10) for n in range(4)]
    rules = [
        PinRule("first", "q", "i3", 1),
        PinRule("second", "q", "i2", 1),
        PinRule("absent", "q", "nope", 2),
    ]
    outcome = apply_rules(base, rules, query="q")
    assert ids(outcome) == ["i3", "i2", "i0", "i1"]
    assert outcome.missing_pins == ["nope"]
    assert outcome.items[0].applied_rules[0].kind == "pin"


def test_hiding_wins_over_pinning():
    outcome = apply_rules(items(), [StockRule(), PinRule("pin", "q", "p3", 1)], query="q")
    assert "p3" not in ids(outcome)
    assert outcome.hidden == ["p3"]
    assert outcome.missing_pins == []


def test_rule_validation():
    with pytest.raises(ValueError):
        ScoreRule("x", "colour", "red")
    with pytest.raises(ValueError):
        ScoreRule("x", "brand", "a", multiplier=-1)
    with pytest.raises(ValueError):
        PinRule("x", "q", 1, 0)
    with pytest.raises(ValueError):
        StockRule(action="delete")
