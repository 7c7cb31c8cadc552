"""Typo correction from the catalogue vocabulary."""

import json
import pickle

import pytest

from recommend.engine.spelling import SpellCorrector

TITLES = [
    "Wireless Headphones with noise cancelling",
    "Over-ear headphones, black",
    "Bluetooth speaker 20W",
    "USB-C charging cable 2m",
    "Portable speaker waterproof",
    "Gaming keyboard mechanical",
    "Wireless mouse",
    "Cotton shirt",
    "Cotton shirt, slim fit",
    "Running shorts",
]


@pytest.fixture(scope="module")
def corrector():
    return SpellCorrector.from_texts(TITLES)


def test_corrects_a_dropped_letter(corrector):
    result = corrector.correct("hedphones")
    assert result.corrected == "headphones"
    assert result.changed
    assert result.corrections == [("hedphones", "headphones")]
    assert result.original == "hedphones"


def test_leaves_short_known_and_numeric_words_alone(corrector):
    for query in ("usb", "usbb", "2m", "20w", "4k", "wireless", "keyboard", "12345"):
        result = corrector.correct(query)
        assert not result.changed, query
        assert result.corrections == []


def test_distance_limits_depend_on_word_length(corrector):
    assert corrector.correct("wireles").corrected == "wireless"  # 7 chars: 1 edit
    assert corrector.correct("speakr").corrected == "speaker"
    assert corrector.correct("hedphnes").corrected == "headphones"  # 8 chars: 2 edits
    assert not corrector.correct("spekr").changed  # 5 chars, 2 edits away: too far
    assert not corrector.correct("zzzzzzzz").changed  # nothing close


def test_transposition_counts_as_one_edit(corrector):
    assert corrector.correct("haedphones").corrected == "headphones"
    assert corrector.correct("keybaord").corrected == "keyboard"


def test_prefers_the_more_frequent_word_at_equal_distance():
    frequent_shirt = SpellCorrector({"shirt": 100, "short": 5})
    frequent_short = SpellCorrector({"shirt": 5, "short": 100})
    assert frequent_shirt.suggest("shart") == "shirt"
    assert frequent_short.suggest("shart") == "short"
    # a closer word beats a more frequent one
    assert SpellCorrector({"cables": 1000, "cable": 1}).suggest("cabble") == "cable"


def test_keeps_punctuation_and_other_words_of_the_query(corrector):
    result = corrector.correct("Black HEDPHONES, wireles!")
    assert result.corrected == "black headphones, wireless!"
    assert result.corrections == [("hedphones", "headphones"), ("wireles", "wireless")]


def test_logged_queries_need_enough_support_to_become_known():
    rare = SpellCorrector.from_texts(TITLES, {"hedphones": 3, "headphones": 50})
    assert rare.correct("hedphones").corrected == "headphones"
    assert rare.counts["headphones"] == 52  # extra counts add to catalogue words
    common = SpellCorrector.from_texts(TITLES, {"airpods pro": 40}, min_extra_count=10)
    assert "airpods" in common
    assert not common.correct("airpods").changed


def test_round_trips_through_json_and_pickle(corrector):
    restored = SpellCorrector.from_dict(json.loads(json.dumps(corrector.to_dict())))
    unpickled = pickle.loads(pickle.dumps(corrector))
    for query in ("hedphones", "keybaord", "usb", "speakr cable"):
        expected = corrector.correct(query)
        assert restored.correct(query) == expected
        assert unpickled.correct(query) == expected
    with pytest.raises(ValueError, match="not a serialised SpellCorrector"):
        SpellCorrector.from_dict({"counts": {}})


def test_empty_vocabulary_and_empty_query():
    empty = SpellCorrector({})
    assert empty.correct("headphnes").corrected == "headphnes"
    assert SpellCorrector.from_texts(TITLES).correct("   ").corrected == ""
