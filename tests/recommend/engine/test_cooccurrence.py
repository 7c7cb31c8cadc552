"""Bought-together associations and trending items."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from recommend.engine.cooccurrence import bought_together, complementary_categories, trending

# 10 baskets: n(a)=6, n(b)=4, n(c)=5, n(a,b)=3, n(a,c)=4, n(b,c)=1
ORDERS = [
    ["a", "b", "c"],
    ["a", "b"],
    ["a", "b", "a"],  # a repeated item counts once
    ["a", "c"],
    ["a", "c"],
    ["a", "c"],
    ["c"],
    ["b"],
    ["d"],
    [],  # an empty basket is ignored
    ["e", "f"],
]


def test_confidence_is_the_conditional_probability():
    result = bought_together(ORDERS, min_support=1, measure="confidence")
    assert result["a"] == [("c", pytest.approx(4 / 6)), ("b", pytest.approx(3 / 6))]
    assert result["b"] == [("a", pytest.approx(3 / 4)), ("c", pytest.approx(1 / 4))]


def test_lift_compares_with_chance_and_min_support_filters():
    result = bought_together(ORDERS, min_support=2)  # N = 10 non-empty baskets
    assert result["a"] == [
        ("c", pytest.approx(4 * 10 / (6 * 5))),
        ("b", pytest.approx(3 * 10 / (6 * 4))),
    ]
    assert "c" not in dict(result["b"])  # n(b, c) = 1 < 2
    assert "e" not in result


def test_large_baskets_add_no_pairs_and_ties_are_stable():
    bulk = [[f"x{i}" for i in range(100)]] * 5
    assert bought_together(bulk, min_support=1, max_basket_size=50) == {}
    tied = bought_together([["a", "b"], ["a", "c"]], min_support=1, measure="confidence")
    assert tied["a"] == [("b", 0.5), ("c", 0.5)]
    with pytest.raises(ValueError):
        bought_together(ORDERS, measure="jaccard")


def test_trending_decays_by_half_life():
    now = datetime(2025, 6, 1, tzinfo=UTC)
    events = [
        ("old-hit", now - timedelta(hours=48), 10.0),  # 10 * 0.25 = 2.5
        ("new", now - timedelta(hours=1), 3.0),  # 3 * 2 ** (-1 / 24)
        ("new", now + timedelta(minutes=5), 1.0),  # future: counts as now
        ("steady", now - timedelta(hours=24), 4.0),  # 2.0
    ]
    ranked = trending(events, now, half_life_hours=24)
    assert [item for item, _ in ranked] == ["new", "old-hit", "steady"]
    assert ranked[0][1] == pytest.approx(3 * 2 ** (-1 / 24) + 1)
    assert ranked[1][1] == pytest.approx(2.5)
    assert trending(events, now, 24, top_n=1) == ranked[:1]
    assert trending([], now) == []


def test_popularity_timeline_counts_only_what_happened_before_the_moment():
    from recommend.engine.cooccurrence import PopularityTimeline

    day = 86_400.0
    events = [("a", 0.0, 1.0), ("a", 10 * day, 8.0), ("a", 20 * day, 2.0), ("b", 19 * day, 4.0)]
    timeline = PopularityTimeline(events, window_days=15, half_life_hours=24 * 5)
    # at day 20: a's purchase (10 days old, two half-lives) counts, its day-0 view is outside the
    # window, and its click at exactly day 20 has not happened yet (it is what a model predicts)
    assert timeline.score("a", 20 * day) == pytest.approx(8.0 * 0.25)
    assert timeline.score("b", 20 * day) == pytest.approx(4.0 * 0.5**0.2)
    assert timeline.score("a", 20 * day + 1) == pytest.approx(
        8.0 * 0.5 ** ((10 * day + 1) / (5 * day)) + 2.0 * 0.5 ** (1 / (5 * day))
    )
    assert timeline.score("b", 19 * day) == 0.0 and timeline.score("unknown", 20 * day) == 0.0
    # log1p, as serving's aggregates store it, and only for items with engagement before then
    at = timeline.at(["a", "b", "c"], 19 * day)
    assert at == {"a": pytest.approx(math.log1p(8.0 * 0.5 ** (9 / 5)))}
    # the same formula as trending() over the events before the moment
    now = 20 * day + 3600
    within = [(i, t, w) for i, t, w in events if now - 15 * day < t < now]
    expected = dict(trending(within, now, half_life_hours=120))
    assert timeline.score("a", now) == pytest.approx(expected["a"])
    with pytest.raises(ValueError):
        PopularityTimeline([], window_days=0, half_life_hours=1)


def test_complementary_categories_skip_the_category_s_own_branch():
    ancestors = {
        "phones": ("phones", "electronics"),
        "cases": ("cases", "accessories"),
        "electronics": ("electronics",),
        "accessories": ("accessories",),
        "socks": ("socks", "clothing"),
    }
    baskets = (
        [["phones", "cases"]] * 3
        + [["phones", "electronics"]] * 3  # a product filed at the parent: not a complement
        + [["socks"]] * 4
        + [["phones", "socks"]]  # below min_support
    )
    related = complementary_categories(baskets, ancestors, min_support=2)
    assert related["phones"] == [("cases", pytest.approx(11 * 3 / (7 * 3)))]
    assert related["cases"] == [("phones", pytest.approx(11 * 3 / (3 * 7)))]
    assert "electronics" not in related and "socks" not in related


def test_bought_with_any_keeps_each_items_best_rank_over_the_seeds():
    from recommend.engine.cooccurrence import bought_with_any

    table = {1: [(10, 5.0), (11, 4.0)], 2: [(11, 9.0), (12, 1.0)]}
    assert bought_with_any([1, 2, 3], table, k=10) == [(10, 1.0), (11, 1.0), (12, 0.5)]
    assert bought_with_any([1, 2], table, k=1) == [(10, 1.0)]


def test_trending_in_interleaves_categories_by_interest_share():
    from recommend.engine.cooccurrence import by_category, trending_in

    ancestors = {"shoes": ("shoes", "fashion"), "hats": ("hats", "fashion")}
    table = by_category(
        [(1, 9.0), (2, 8.0), (3, 7.0)],
        {1: "shoes", 2: "hats", 3: "shoes"},
        lambda c: ancestors[c],
        per_category=10,
    )
    assert table == {
        "shoes": [(1, 9.0), (3, 7.0)],
        "fashion": [(1, 9.0), (2, 8.0), (3, 7.0)],
        "hats": [(2, 8.0)],
    }
    assert trending_in(table, {"hats": 0.75, "shoes": 0.25}, k=3) == [
        (2, 0.75),
        (1, 0.25),
        (3, 0.125),
    ]
