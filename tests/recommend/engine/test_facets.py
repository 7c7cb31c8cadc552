"""Facet counts and price buckets."""

from decimal import Decimal

import numpy as np

from recommend.engine.facets import compute_facets, nice_round, nice_step, price_buckets


def test_category_and_brand_counts():
    rows = [
        (1, "Acme", 10),
        (1, "ACME ", 20),
        (2, "Zeta", 30),
        (3, "acme", None),
        (None, None, 5),
        (2, " ", 7),
    ]
    facets = compute_facets(rows, category_names={1: "Audio", 2: "Video"})
    assert facets["category"] == [
        {"id": 1, "name": "Audio", "count": 2},
        {"id": 2, "name": "Video", "count": 2},
        {"id": 3, "name": "3", "count": 1},
    ]
    assert facets["brand"] == [{"name": "Acme", "count": 3}, {"name": "Zeta", "count": 1}]
    assert sum(b["count"] for b in facets["price"]) == 5
    assert compute_facets(rows, top_n=1)["category"] == [{"id": 1, "name": "1", "count": 2}]


def test_brands_cut_to_top_n_by_count_then_name_in_their_most_frequent_spelling():
    rows = [(None, b, None) for b in ["zed", "Beta  Co", "beta co", "BETA CO", "Alpha", "Zed"]]
    facets = compute_facets(rows + [(None, "Ｚｅｄ", None)], top_n=2)  # full width: the same brand
    # tied counts order by the normalised name; a spelling's inner spaces collapse first
    assert facets["brand"] == [{"name": "Beta Co", "count": 3}, {"name": "zed", "count": 3}]
    assert compute_facets(rows)["brand"][-1] == {"name": "Alpha", "count": 1}


def test_price_buckets_hand_example():
    # quantiles of 1..100 are 20.8, 40.6, 60.4, 80.2 -> rounded to 20, 40, 60, 80
    assert price_buckets(list(range(1, 101))) == [
        {"min": 1.0, "max": 20.0, "count": 19},
        {"min": 20.0, "max": 40.0, "count": 20},
        {"min": 40.0, "max": 60.0, "count": 20},
        {"min": 60.0, "max": 80.0, "count": 20},
        {"min": 80.0, "max": 100.0, "count": 21},
    ]


def test_price_buckets_cover_skewed_and_narrow_ranges():
    rng = np.random.default_rng(0)
    for prices in (
        rng.lognormal(3.5, 1.0, 2000),
        rng.uniform(1000, 1500, 300),
        rng.uniform(1, 2, 50),
    ):
        buckets = price_buckets(list(prices))
        assert 2 <= len(buckets) <= 5
        assert sum(b["count"] for b in buckets) == len(prices)
        assert buckets[0]["min"] <= prices.min() and buckets[-1]["max"] >= prices.max()
        for left, right in zip(buckets, buckets[1:], strict=False):
            assert left["max"] == right["min"]
            assert left["min"] < left["max"]
        # round edges: two significant digits, or a multiple of a 1-2-5 step of the spread
        spread_step = nice_step((prices.max() - prices.min()) / 10)
        for b in buckets:
            for edge in (b["min"], b["max"]):
                short = len(f"{edge:.10g}".replace(".", "").strip("0")) <= 2
                assert short or abs(edge / spread_step - round(edge / spread_step)) < 1e-9


def test_price_buckets_edge_cases():
    assert price_buckets([]) == []
    assert price_buckets([9.99, 9.99]) == [{"min": 9.99, "max": 9.99, "count": 2}]
    assert sum(b["count"] for b in price_buckets([Decimal("19.99"), 5, float("nan"), -1])) == 2
    assert nice_round(37) == 35 and nice_round(3.7) == 3.5 and nice_round(240) == 250
    assert nice_round(731, "up", step=100) == 800 and nice_round(3.99, "down", step=1) == 3
    assert nice_step(37) == 50 and nice_step(0.7) == 0.5 and nice_step(140) == 100


def test_quantiles_are_numpys_to_the_last_bit():
    """price_buckets computes its quantiles in plain Python: the same floats as numpy.quantile
    (method "linear"), so the buckets' edges did not move when numpy left the request path."""
    import random

    import numpy as np

    from recommend.engine.facets import _quantile

    rng = random.Random(3)
    for _ in range(500):
        values = sorted(
            rng.choice([rng.uniform(0, 1000), rng.randint(0, 30) * 5.0, 10 ** rng.uniform(-3, 6)])
            for _ in range(rng.randint(1, 40))
        )
        for buckets in (2, 3, 5, 7):
            qs = np.arange(1, buckets) / buckets
            expected = np.quantile(np.asarray(values), qs)
            assert [_quantile(values, float(q)) for q in qs] == expected.tolist(), values


def test_brand_spellings_are_grouped_as_they_first_appear():
    rows = [(None, "ACME", 1.0), (None, "Acme", 1.0), (None, "acme ", 1.0), (None, "Acme", 2.0)]
    rows += [(None, "ACME", 3.0), (None, " ", 4.0), (None, None, None)]
    facets = compute_facets(rows)
    # "Acme" and "ACME" both twice (whitespace collapsed: "acme " is "acme"): the first seen wins
    assert facets["brand"] == [{"name": "ACME", "count": 5}]
    assert sum(b["count"] for b in facets["price"]) == 6
