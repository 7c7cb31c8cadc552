"""The rule-based intent fallback (plain Python, no database)."""

from __future__ import annotations

import pytest

from recommend.engine import intent_rules


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("where is my order", "support"),
        ("return policy", "support"),
        ("how do i reset my password", "support"),
        ("best noise cancelling headphones", "review"),
        ("espresso machine reviews", "review"),
        ("nordtek vs pixelon laptop", "review"),
        ("cheap running shoes", "buy"),
        ("laptop under 500", "buy"),
        ("buy electric kettle", "buy"),
        ("running shoes", "browse"),
        ("stridex trail running shoes waterproof", "browse"),
    ],
)
def test_each_query_gets_the_label_its_words_point_to(query, label):
    decided = intent_rules.classify(query)
    assert decided.label == label
    assert decided.reason.startswith("rules: ")


def test_a_cue_names_itself_and_scores_above_the_browse_default():
    cue = intent_rules.classify("Best   Espresso machine")
    default = intent_rules.classify("espresso machine")
    assert "“best”" in cue.reason
    assert cue.score > default.score
    assert default.label == "browse" and "no buy, review or support cue" in default.reason


def test_a_label_outside_the_shops_label_set_is_skipped_but_support_stays():
    assert intent_rules.classify("best kettle", labels=("browse", "buy")).label == "browse"
    assert intent_rules.classify("where is my order", labels=("browse", "buy")).label == "support"
    assert intent_rules.predict(["cheap tv", "tv"]) == [
        ("buy", intent_rules.CUE_SCORE),
        ("browse", intent_rules.DEFAULT_SCORE),
    ]


def test_a_cue_outside_a_trained_classifiers_labels_still_holds():
    trained = ("browse", "buy")  # e.g. a search log whose weak labels had no review
    assert intent_rules.cue_outside("where is my order", trained).label == "support"
    assert intent_rules.cue_outside("best espresso machine", trained).label == "review"
    assert intent_rules.cue_outside("cheap espresso machine", trained) is None  # buy is known
    assert intent_rules.cue_outside("espresso machine", trained) is None  # no cue at all
    assert intent_rules.cue_outside("best kettle", ("browse", "buy", "review")) is None
