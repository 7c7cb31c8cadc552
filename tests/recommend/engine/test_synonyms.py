"""Synonym sets, expansion and the query texts rendered from it."""

import pytest

from recommend.engine.synonyms import (
    Expansion,
    SynonymSet,
    build_synonym_index,
    expand,
    lexical_query_text,
    semantic_query_text,
)
from recommend.engine.text import tokenize

SETS = [
    SynonymSet.parse("TV, television"),
    SynonymSet.parse("running shoes, trainers"),
    SynonymSet.parse("hoodie, hoody => hooded sweatshirt"),
]


def test_parse_normalises_terms_and_reads_direction():
    equivalent = SynonymSet.parse(" TV ,Television, tv ")
    assert equivalent.terms == ("tv", "television")
    assert not equivalent.one_way
    rule = SynonymSet.parse("Hoodie, hoody => Hooded  Sweatshirt")
    assert rule.sources == ("hoodie", "hoody")
    assert rule.terms == ("hooded sweatshirt",)
    assert rule.one_way


@pytest.mark.parametrize("line", ["tv", "=> tv", "a => b => c", " , "])
def test_parse_rejects_malformed_rules(line):
    with pytest.raises(ValueError):
        SynonymSet.parse(line)


def test_equivalent_terms_expand_both_ways():
    assert expand(["tv", "stand"], SETS).alternatives == {"tv": ["television"]}
    assert expand(["television"], SETS).alternatives == {"television": ["tv"]}


def test_one_way_rule_does_not_expand_backwards():
    assert expand(["hoody"], SETS).alternatives == {"hoody": ["hooded sweatshirt"]}
    assert expand(tokenize("hooded sweatshirt"), SETS).alternatives == {}


def test_multi_word_terms_match_as_phrases_longest_first():
    expansion = expand(tokenize("black running shoes"), SETS)
    assert expansion.alternatives == {"running shoes": ["trainers"]}
    assert [term for term, _ in expansion.segments] == ["black", "running shoes"]
    assert expand(["trainers"], SETS).alternatives == {"trainers": ["running shoes"]}
    # the words apart are not the phrase
    assert expand(tokenize("shoes for running"), SETS).alternatives == {}


def test_expansion_is_not_transitive():
    sets = [SynonymSet.parse("tv, television"), SynonymSet.parse("television, telly")]
    assert expand(["tv"], sets).alternatives == {"tv": ["television"]}
    assert expand(["television"], sets).alternatives == {"television": ["tv", "telly"]}


def test_prebuilt_index_gives_the_same_expansion():
    tokens = tokenize("tv for running shoes")
    assert expand(tokens, build_synonym_index(SETS)) == expand(tokens, SETS)


def test_lexical_query_text_is_an_or_of_and_groups():
    assert lexical_query_text(expand(["tv", "remote"], SETS)) == ("tv remote or television remote")
    assert lexical_query_text(expand(tokenize("trainers sale"), SETS)) == (
        'trainers sale or "running shoes" sale'
    )
    assert lexical_query_text(expand(["lamp"], SETS)) == "lamp"
    assert lexical_query_text(expand([], SETS)) == ""


def test_lexical_query_text_quotes_the_or_operator_word():
    assert lexical_query_text(expand(["black", "or", "white"], SETS)) == 'black "or" white'


def test_lexical_query_text_is_bounded_with_fewest_substitutions_first():
    sets = [SynonymSet.parse(f"w{i}, alt{i}") for i in range(6)]
    text = lexical_query_text(expand([f"w{i}" for i in range(6)], sets), max_variants=4)
    groups = text.split(" or ")
    assert len(groups) == 4
    assert groups[0] == "w0 w1 w2 w3 w4 w5"
    assert groups[1] == "alt0 w1 w2 w3 w4 w5"


def test_semantic_query_text_puts_alternatives_in_brackets():
    assert semantic_query_text(expand(["tv", "remote"], SETS)) == "tv (television) remote"
    assert semantic_query_text(expand(["lamp"], SETS)) == "lamp"


def test_renderers_accept_an_expansion_built_by_hand():
    hand = Expansion(tokens=("tv", "remote"), alternatives={"tv": ["television"]})
    assert lexical_query_text(hand) == "tv remote or television remote"
