"""The guardrails and the offline drafter on plain lists (no database): a planted draft that
invents an attribute value — a colour, a material, a number, a size, another brand — is marked;
a banned word, a length out of bounds and a copy of another description are marked; the
offline drafter only borrows sentences that fit the product, so its drafts pass."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.copywriting.logic.drafting import (
    TEMPLATE_DRAFTER,
    clean_generation,
    is_thin,
    nearest_neighbours,
    template_draft,
    writing_score,
)
from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    DuplicateIndex,
    GuardrailSettings,
    ProductFacts,
    check_draft,
    passes,
)
from catalog.copywriting.logic.pipeline import draft_products, needs_copy, similar_products

KETTLE = ProductFacts(
    1,
    "Brisa Arc Kettle — steel, 1.7 l",
    "",
    "Kettles",
    "Brisa",
    {
        "type": "kettle",
        "material": "steel",
        "colour": "silver",
        "capacity": "1.7 l",
        "cordless": True,
    },
)
OTHER = ProductFacts(
    2,
    "Volta Glow Kettle — glass, 1.2 l",
    "The Volta Glow is a bright kettle designed for quick morning tea. It boils fast and switches "
    "off by itself. Its red light shows when the water is hot. Comes with a 2 year warranty. "
    "Specifications: material: glass; colour: red; capacity: 1.2 l.",
    "Kettles",
    "Volta",
    {"type": "kettle", "material": "glass", "colour": "red", "capacity": "1.2 l"},
)
SHIRT = ProductFacts(
    3,
    "Linea Oxford Shirt — M",
    "A crisp oxford shirt cut for the office and the weekend alike, in soft brushed fabric.",
    "Shirts",
    "Linea",
    {"type": "shirt", "size": "M", "material": "cotton", "colour": "navy"},
)
CATALOGUE = [KETTLE, OTHER, SHIRT]
VOCAB = AttributeVocabulary.from_products(CATALOGUE)
SETTINGS = GuardrailSettings(min_chars=40, max_chars=400, banned_words=("best ever", "miracle"))


def verdicts(text: str, facts: ProductFacts = KETTLE, **kw) -> dict[str, str | None]:
    checks = check_draft(
        text,
        facts,
        vocabulary=VOCAB,
        duplicates=DuplicateIndex({p.product_id: p.description for p in CATALOGUE}),
        settings=kw.get("settings", SETTINGS),
    )
    return {c.name: (None if c.ok else c.detail) for c in checks}


GOOD = "The Brisa Arc is a cordless silver kettle in steel that holds 1.7 l of water."


def test_a_draft_with_only_the_products_own_values_passes():
    assert verdicts(GOOD) == dict.fromkeys(("attributes", "banned_words", "length", "duplicate"))


@pytest.mark.parametrize(
    ("planted", "invented"),
    [
        ("The Brisa Arc is a cordless red kettle in steel that holds 1.7 l.", "red"),  # colour
        (
            "The Brisa Arc is a cordless silver kettle in glass that holds 1.7 l.",
            "glass",
        ),  # material
        (
            "The Brisa Arc is a cordless silver steel kettle that holds 2.5 l of water.",
            "2.5",
        ),  # number
        ("The Brisa Arc is a cordless silver steel kettle, 1.7 l, with a 5 year warranty.", "5"),
        ("The Brisa Arc silver steel kettle (1.7 l) is as good as anything from Volta.", "volta"),
        ("The Brisa Arc silver steel kettle holds 1.7 l and is also sold in size M.", "size m"),
        ("The Brisa Arc silver steel kettle holds 1.7 l, in soft cotton for your hands.", "cotton"),
        ("The Brisa Arc silver steel kettle holds 1.7 l and comes in charcoal too.", "charcoal"),
    ],
)
def test_a_planted_draft_that_invents_an_attribute_is_marked(planted, invented):
    found = verdicts(planted)["attributes"]
    assert found is not None and invented in found.split(": ", 1)[1].split(", ")


def test_a_banned_word_is_marked_whole_words_any_case():
    assert "miracle" in verdicts(GOOD + " A Miracle of design.")["banned_words"]
    assert "best ever" in verdicts(GOOD + " The BEST   ever kettle.")["banned_words"]
    assert verdicts(GOOD + " Miracles happen.")["banned_words"] is None  # a whole word only


def test_length_bounds_are_checked():
    assert "under the minimum" in verdicts("Brisa Arc kettle.")["length"]
    assert "over the maximum" in verdicts(GOOD * 8)["length"]


def test_a_copy_of_another_products_description_is_marked():
    copied = verdicts(SHIRT.description, facts=KETTLE)["duplicate"]
    assert copied is not None and "#3" in copied
    assert verdicts(SHIRT.description, facts=SHIRT)["duplicate"] is None  # its own text


def test_boilerplate_shared_by_every_description_is_not_a_copy():
    shared = "Made to last and easy to clean every day."
    descriptions = {i: f"{shared} Model number {i} in its own words {i * 7}." for i in range(200)}
    index = DuplicateIndex(descriptions, boilerplate_share=0.02, boilerplate_min=10)
    assert index.most_similar(f"{shared} A new kettle.")[1] < 0.5
    assert index.most_similar(descriptions[5], exclude=None) == (5, 1.0)


def test_the_offline_drafter_borrows_only_sentences_that_fit_the_product():
    draft = template_draft(KETTLE, [OTHER], VOCAB)
    assert draft.drafter == TEMPLATE_DRAFTER
    assert "boils fast and switches off by itself" in draft.text  # fits any kettle
    assert "red" not in draft.text.lower() and "warranty" not in draft.text  # the neighbour's
    assert "Volta" not in draft.text and draft.sources == (2,)
    assert "capacity: 1.7 l" in draft.text and "cordless" in draft.text
    assert passes(
        check_draft(
            draft.text,
            KETTLE,
            vocabulary=VOCAB,
            duplicates=DuplicateIndex({p.product_id: p.description for p in CATALOGUE}),
            settings=SETTINGS,
        )
    )


def test_thin_descriptions_and_writing_score():
    assert is_thin("", min_words=5) and is_thin("Nice kettle.", min_words=5)
    assert not is_thin(OTHER.description, min_words=5)
    assert [p.product_id for p in needs_copy(CATALOGUE, min_words=5)] == [1]
    assert writing_score(OTHER.description) > writing_score("GREAT KETTLE!!! BUY NOW")


def test_similar_products_by_vectors_else_the_category():
    vectors = {1: np.array([1.0, 0.0]), 2: np.array([0.9, 0.1]), 3: np.array([0.0, 1.0])}
    wide = [
        *CATALOGUE[1:],
        ProductFacts(4, "Shirt", SHIRT.description + " " + OTHER.description, "Shirts"),
    ]
    by_vector = similar_products([KETTLE], wide, vectors={**vectors, 4: np.array([-1.0, 0.0])}, k=1)
    assert by_vector == {1: [2]}
    by_category = similar_products([KETTLE], wide, vectors={}, k=3)
    assert by_category == {1: [2]}  # only the kettles' well-written description


def test_nearest_neighbours_orders_by_cosine():
    targets = np.array([[1.0, 0.0], [0.0, 2.0]])
    candidates = np.array([[0.0, 1.0], [1.0, 0.1], [1.0, 1.0]])
    assert nearest_neighbours(targets, candidates, k=2) == [[1, 2], [0, 2]]


def test_a_models_drafts_are_checked_and_marked_not_dropped():
    outputs = iter(["The Brisa Arc kettle in red boils 3 l in no time, the best ever.\n\nExtra"])
    drafted = draft_products(
        [KETTLE],
        CATALOGUE,
        neighbours={},
        settings=SETTINGS,
        generate=lambda batch: [next(outputs) for _ in batch],
        drafter="model:tiny",
    )
    [(draft, checks)] = drafted
    assert draft.drafter == "model:tiny" and "Extra" not in draft.text
    failed = {c.name for c in checks if not c.ok}
    assert failed == {"attributes", "banned_words"}


def test_clean_generation_keeps_whole_sentences():
    assert clean_generation("A kettle. It boils fast. And then it") == "A kettle. It boils fast."
    assert clean_generation("  One line only") == "One line only"


def test_rouge_l():
    from catalog.copywriting.logic.evaluation import rouge_l

    assert rouge_l("a black kettle", "a black kettle") == 1.0
    assert rouge_l("", "x") == 0.0 and rouge_l("red hat", "blue shoe") == 0.0
    # LCS "a kettle" (2 words) of 3 and 4 words: P 2/3, R 1/2 -> F1 4/7
    assert abs(rouge_l("a steel kettle", "a kettle for tea") - 4 / 7) < 1e-9


def test_neighbours_of_the_same_type_lend_first_and_no_sentence_says_the_same_twice():
    charger = ProductFacts(10, "Volt charger", "", "Phone accessories", "", {"type": "charger"})
    case_text = (
        "A slim case designed for daily carry in a bag or a pocket. Raised edges protect the "
        "camera lens from scratches. The soft lining keeps the back of the phone clean."
    )
    charger_text = (
        "A compact charger designed for the desk beside a laptop. It tops a phone up in no "
        "time at all. The folding plug makes it easy to pack for a trip."
    )
    case = ProductFacts(11, "Slim case", case_text, "Phone accessories", "", {"type": "case"})
    other = ProductFacts(
        12, "Mini charger", charger_text, "Phone accessories", "", {"type": "charger"}
    )
    vectors = {10: np.array([1.0, 0.0]), 11: np.array([1.0, 0.01]), 12: np.array([0.6, 0.8])}
    assert similar_products([charger], [case, other], vectors=vectors, k=1) == {10: [12]}
    twice = ProductFacts(
        13, "Mini charger II", charger_text, "Phone accessories", "", {"type": "charger"}
    )
    draft = template_draft(charger, [other, twice], AttributeVocabulary.from_products([charger]))
    # the copy of the same text lends its next sentence, never the same one again
    assert draft.text.count("designed for the desk") == 1 and draft.sources == (12, 13)
    assert "tops a phone up" in draft.text
