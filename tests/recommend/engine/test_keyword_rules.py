"""``KeywordRules``: the one rules classifier behind the intent and support-category tables."""

from __future__ import annotations

from recommend.engine.keyword_rules import KeywordRules, RuleDecision

TABLE = KeywordRules(
    (("help", (r"\bmy order\b",)), ("deal", (r"\bcheap\b", r"\bsale\b"))),
    cue_score=0.9,
    default_label="plain",
    default_score=0.2,
    default_reason="rules: nothing",
    text_name="line",
    always_tried=("help",),
)


def test_the_first_label_with_a_cue_wins_and_names_the_cue():
    assert TABLE.classify("  Cheap   SALE on my order ") == RuleDecision(
        "help", 0.9, "rules: the line says “my order”"
    )
    assert TABLE.classify("a cheap kettle").reason == "rules: the line says “cheap”"
    assert TABLE.classify("a kettle") == RuleDecision("plain", 0.2, "rules: nothing")
    assert TABLE.classify(None) == TABLE.classify("")  # type: ignore[arg-type]


def test_a_label_set_skips_the_other_rules_but_those_always_tried():
    assert TABLE.classify("cheap kettle", labels=("plain",)).label == "plain"
    assert TABLE.classify("where is my order", labels=("plain",)).label == "help"
    assert TABLE.predict(["cheap kettle", "kettle"], labels=("deal", "plain")) == [
        ("deal", 0.9),
        ("plain", 0.2),
    ]
