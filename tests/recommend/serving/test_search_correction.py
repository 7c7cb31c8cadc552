"""Guarded typo correction: catalogue typos are fixed, real words that the catalogue lacks stay."""

from __future__ import annotations

from recommend.engine.query_correction import dictionary_words, guarded_correct
from recommend.engine.spelling import SpellCorrector

CATALOGUE = [
    "Brewhaus espresso machine",
    "Cooking pot with lid",
    "Witness protection novel",
    "Trail running shoes",
]


def test_real_words_are_not_corrected_to_catalogue_words():
    corrector = SpellCorrector.from_texts(CATALOGUE)
    assert (
        corrector.correct("looking for espreso").corrected == "cooking for espresso"
    )  # the unguarded damage
    known = dictionary_words(["looking", "##ing", "[CLS]", "fitness", "for", "espresso"])
    assert known == {"looking", "fitness", "for", "espresso"}
    guarded = guarded_correct(corrector, "Looking for ESPRESO", known)
    assert guarded.corrected == "looking for espresso"
    assert guarded.corrections == [("espreso", "espresso")] and guarded.changed
    untouched = guarded_correct(corrector, "fitness shoes", known)
    assert untouched.corrected == "fitness shoes" and not untouched.changed


def test_without_a_dictionary_it_behaves_like_the_corrector():
    corrector = SpellCorrector.from_texts(CATALOGUE)
    for query in ("runing shoes", "trail runnning", "machine"):
        assert guarded_correct(corrector, query).corrected == corrector.correct(query).corrected


def test_a_word_the_index_matches_is_never_replaced():
    """The corrector compares surface tokens, the index stems them: "womens" is not a catalogue
    token ("women's" is) but the index matches it, so it stays as typed."""
    corrector = SpellCorrector.from_texts(["Northloom women's jean jacket", "Trail running shoes"])
    assert corrector.correct("womens jackett").corrections == [
        ("womens", "women's"),
        ("jackett", "jacket"),
    ]  # what it did before the index was asked
    asked: list[list[str]] = []

    def indexed(words):
        asked.append(list(words))
        return {"womens"}  # "women" is an indexed lexeme; "jackett" matches nothing

    guarded = guarded_correct(corrector, "Womens jackett", indexed=indexed)
    assert guarded.corrected == "womens jacket" and guarded.corrections == [("jackett", "jacket")]
    assert asked == [["jackett", "womens"]]  # one call, with the proposed words only
    guarded_correct(corrector, "womens", known_words={"womens"}, indexed=indexed)
    guarded_correct(corrector, "trail shoes", indexed=indexed)
    assert len(asked) == 1  # nothing to replace: the index is not asked


def test_a_real_word_the_catalogue_lacks_is_not_corrected_to_a_catalogue_word():
    """ "pamper" is no catalogue word and the tokenizer splits it in pieces, so without a general
    dictionary it became "paper" (one deletion away): a real English word stays as typed, while
    a typo that is no word ("notbook") is still corrected."""
    from recommend.engine.query_correction import general_dictionary

    corrector = SpellCorrector.from_texts(["Recycled paper notebook", "Lavender bath salts"])
    assert corrector.correct("relaxing pamper evening").corrections == [("pamper", "paper")]
    words = general_dictionary()
    assert {"pamper", "relaxing", "evening"} <= words and "notbook" not in words
    guarded = guarded_correct(corrector, "relaxing pamper evening notbook", words)
    assert guarded.corrected == "relaxing pamper evening notebook"
    assert guarded.corrections == [("notbook", "notebook")]
