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
