"""The support-category keyword rules (the fallback and the baseline of the classifier) and
the boost a detected category gives its passages."""

from __future__ import annotations

from recommend.engine import support_rules


def test_the_rules_read_generic_help_centre_words_and_default_to_a_product_question():
    cases = {
        "how do I return these boots": "returns",
        "where is my order": "shipping",
        "can I pay with paypal": "payment",
        "reset my password": "account",
        "is this lamp dimmable": "product_question",
    }
    for text, category in cases.items():
        decided = support_rules.classify(text)
        assert decided.label == category, (text, decided)
    assert support_rules.classify("is this lamp dimmable").score < support_rules.CUE_SCORE
    assert "“paypal”" in support_rules.classify("do you take paypal").reason
    assert set(support_rules.SUPPORT_CATEGORIES) == {c for c, _ in support_rules.RULES} | {
        support_rules.DEFAULT_CATEGORY
    }


def test_the_boost_grows_with_the_probability_and_touches_only_its_category():
    scored = [(1, 1.0), (2, 0.9), (3, 0.5)]
    categories = {1: "shipping", 2: "returns", 3: "returns"}
    assert support_rules.boosted(scored, categories, "returns", 1.0, boost=0.25) == [
        (2, 1.125),
        (1, 1.0),
        (3, 0.625),
    ]
    assert [
        pk for pk, _ in support_rules.boosted(scored, categories, "returns", 0.2, boost=0.25)
    ] == [1, 2, 3]
