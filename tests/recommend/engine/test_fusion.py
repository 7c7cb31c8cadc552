"""Reciprocal rank fusion."""

import pytest

from recommend.engine.fusion import reciprocal_rank_fusion

LEXICAL = [("a", 12.0), ("b", 9.5), ("c", 3.1)]
SEMANTIC = [("c", 0.91), ("a", 0.88), ("d", 0.80)]


def test_hand_computed_order_and_scores():
    fused = reciprocal_rank_fusion({"lexical": LEXICAL, "semantic": SEMANTIC}, k=60)
    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63
    assert [f.id for f in fused] == ["a", "c", "b", "d"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert fused[0].sources == {"lexical": (1, 12.0), "semantic": (2, 0.88)}
    assert fused[3].sources == {"semantic": (3, 0.80)}


def test_weights_change_the_order():
    fused = reciprocal_rank_fusion(
        {"lexical": LEXICAL, "semantic": SEMANTIC}, weights={"semantic": 3.0}, k=60
    )
    # c: 1/63 + 3/61 = 0.06505 beats a: 1/61 + 3/62 = 0.06478
    assert [f.id for f in fused][:2] == ["c", "a"]


def test_zero_weight_switches_a_source_off():
    fused = reciprocal_rank_fusion(
        {"lexical": LEXICAL, "semantic": SEMANTIC}, weights={"semantic": 0}
    )
    assert [f.id for f in fused] == ["a", "b", "c"]
    assert all("semantic" not in f.sources for f in fused)


def test_ties_are_broken_deterministically():
    one = reciprocal_rank_fusion({"x": [("p", 1.0), ("q", 0.5)], "y": [("q", 1.0), ("p", 0.5)]})
    two = reciprocal_rank_fusion({"y": [("q", 1.0), ("p", 0.5)], "x": [("p", 1.0), ("q", 0.5)]})
    assert [f.id for f in one] == [f.id for f in two] == ["p", "q"]
    assert one[0].score == one[1].score
    # same score: the item found by more sources wins
    fused = reciprocal_rank_fusion({"x": [("solo", 1.0)], "y": [], "z": []}, weights=None, k=0)
    assert fused[0].score == 1.0
    both = reciprocal_rank_fusion({"x": [(2, 0), (1, 0)], "y": [(1, 0), (2, 0)]}, k=0)
    assert [f.id for f in both] == [1, 2]


def test_duplicates_within_a_list_keep_the_first_rank_and_limit_cuts():
    fused = reciprocal_rank_fusion({"x": [("a", 1.0), ("a", 0.9), ("b", 0.5)]}, k=0, limit=1)
    assert [(f.id, f.score, f.sources) for f in fused] == [("a", 1.0, {"x": (1, 1.0)})]


def test_rejects_negative_weights_and_k():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"x": LEXICAL}, weights={"x": -1})
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"x": LEXICAL}, k=-1)
