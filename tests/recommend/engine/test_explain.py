"""Explanations and matched terms."""

from recommend.engine.explain import (
    ItemEvidence,
    because_you_viewed,
    explanation,
    light_stem,
    matched_terms,
)
from recommend.engine.fusion import reciprocal_rank_fusion
from recommend.engine.rules import RuleItem, ScoreRule, apply_rules
from recommend.engine.synonyms import SynonymSet, expand


def test_explanation_shape_from_fusion_and_rules():
    (fused,) = reciprocal_rank_fusion({"lexical": [("p1", 0.4)], "semantic": [("p1", 0.83)]})
    (ruled,) = apply_rules([RuleItem("p1", fused.score, brand="Acme")],
                           [ScoreRule("acme", "brand", "acme", multiplier=2)]).items  # fmt: skip
    result = explanation(
        ItemEvidence(
            id="p1",
            sources=fused.sources,
            matched_terms=["headphones"],
            personalisation=because_you_viewed("Sony  WH-1000XM5"),
            rules=ruled.applied_rules,
            ranker_score=0.71,
        )
    )
    assert result["retrievers"] == {
        "lexical": {"rank": 1, "score": 0.4},
        "semantic": {"rank": 1, "score": 0.83},
    }
    assert result["matched_terms"] == ["headphones"]
    assert result["personalisation"] == "because you viewed Sony WH-1000XM5"
    assert result["rules"][0]["name"] == "acme"
    assert result["rules"][0]["kind"] == "boost"
    assert result["ranker"] == {"score": 0.71}


def test_explanation_defaults_keep_core_keys():
    result = explanation(ItemEvidence(id=7, sources={"cooccurrence": (3, 2.5)}))
    assert result == {
        "retrievers": {
            "lexical": None,
            "semantic": None,
            "cooccurrence": {"rank": 3, "score": 2.5},
        },
        "matched_terms": [],
        "personalisation": None,
        "rules": [],
        "ranker": None,
    }
    assert because_you_viewed("  ") is None


def test_matched_terms_ignore_plurals_and_keep_query_order():
    found = matched_terms(["usb-c", "cables", "purple"], "Anker USB-C Cable, 2 m")
    assert found == ["usb-c", "cables"]
    assert light_stem("batteries") == "battery"
    assert light_stem("boxes") == "box"
    assert light_stem("glass") == "glass"


def test_matched_terms_through_synonyms_report_the_product_words():
    sets = [SynonymSet.parse("tv, television"), SynonymSet.parse("running shoes, trainers")]
    assert matched_terms(["tv"], "Samsung Television 55", expansion=expand(["tv"], sets)) == [
        "television"
    ]
    tokens = ["trainers"]
    assert matched_terms(tokens, "Men's running shoes", expansion=expand(tokens, sets)) == [
        "running shoes"
    ]
    assert matched_terms(tokens, "shoes for running", expansion=expand(tokens, sets)) == []
