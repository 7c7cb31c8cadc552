"""The data-value statistics (``training.ml.data_value``): paired bootstrap intervals and their
verdicts, nested samples, the power-law fit of a learning curve and its doubling projection,
and the summary sentences generated from the figures."""

from __future__ import annotations

import numpy as np
import pytest

from training.ml.data_value import (
    HARMFUL,
    NO_VALUE,
    USEFUL,
    fit_power_law,
    learning_curve_fit,
    nested_samples,
    paired_bootstrap,
    summary_sentences,
    verdict,
)
from training.ml.data_value_sources import DataSource, register_source, sources_for


def test_paired_bootstrap_reads_a_clear_gain_as_useful_and_noise_as_no_value():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.8, size=200)
    better = base + 0.05 + rng.normal(0, 0.02, size=200)
    gain = paired_bootstrap(better, base, seed=3)
    assert gain.mean == pytest.approx(0.05, abs=0.01) and gain.low > 0.04 and gain.units == 200
    assert verdict(gain) == USEFUL
    noise = paired_bootstrap(base + rng.normal(0, 0.05, size=200), base, seed=3)
    assert noise.low < 0 < noise.high and verdict(noise) == NO_VALUE
    assert verdict(paired_bootstrap(base, better, seed=3)) == HARMFUL
    # the pairing matters: the same means with unpaired noise would not be this tight
    assert gain.high - gain.low < 0.01
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_nested_samples_are_nested_seeded_and_sized():
    keys = [f"k{i}" for i in range(200)]
    samples = nested_samples(keys, (0.1, 0.2, 0.4, 0.7, 1.0), seed=5)
    sizes = [len(s) for s in samples.values()]
    assert sizes == [20, 40, 80, 140, 200]
    ordered = list(samples.values())
    assert all(set(a) <= set(b) for a, b in zip(ordered, ordered[1:], strict=False))
    assert samples == nested_samples(list(reversed(keys)), (0.1, 0.2, 0.4, 0.7, 1.0), seed=5)
    assert samples[0.1] != nested_samples(keys, (0.1,), seed=6)[0.1]


def test_power_law_fit_recovers_a_synthetic_curve_and_projects_a_doubling():
    a, b = 0.9, 0.35
    sizes = [100, 200, 400, 700, 1000]
    exact = [1 - a * n**-b for n in sizes]
    law = fit_power_law(sizes, exact)
    assert law.a == pytest.approx(a, rel=1e-6) and law.b == pytest.approx(b, rel=1e-6)
    # per-unit scores scattered around the exact curve (300 held-out units)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, size=300)
    unit_scores = [[m + e for e in noise] + [] for m in exact]
    unit_scores = [np.asarray(row) + rng.normal(0, 0.01, size=300) for row in unit_scores]
    curve = learning_curve_fit(sizes, unit_scores, samples=300, seed=1)
    expected = (1 - a * 2000**-b) - (1 - a * 1000**-b)
    assert curve["doubling_size"] == 2000
    assert curve["doubling_gain"] == pytest.approx(expected, rel=0.15)
    low, high = curve["doubling_interval"]
    assert low < expected < high and high - low < expected  # an interval, and a useful one
    assert curve["b_interval"][0] < b < curve["b_interval"][1]
    assert [p["size"] for p in curve["points"]] == sizes
    # a flat curve projects (close to) nothing
    flat = learning_curve_fit(sizes, [noise + 0.6] * 5, samples=200, seed=1)
    assert abs(flat["doubling_gain"]) < 1e-6


def test_summary_sentences_follow_the_figures():
    ablation = [
        {"title": "purchases", "verdict": USEFUL, "change": 0.2, "low": 0.15, "high": 0.25},
        {"title": "clicks", "verdict": NO_VALUE, "change": 0.001, "low": -0.01, "high": 0.01},
        {"title": "add-to-cart events", "skipped": "zero rows"},
    ]
    curve = {
        "b": 0.3,
        "doubling_gain": 0.02,
        "doubling_interval": [0.01, 0.03],
        "doubling_size": 400,
    }
    text = " ".join(
        summary_sentences(
            task="ranker", metric="NDCG@10", baseline=0.71, ablation=ablation, curve=curve
        )
    )
    assert "Purchases carry most of the value" in text and "0.200" in text
    assert "No measurable value from clicks" in text
    assert "Add-to-cart events not measured: zero rows" in text
    assert "Doubling the training data (to 400) would likely add +0.020" in text


def test_the_source_registry_takes_a_new_kind_of_pair():
    names = [s.name for s in sources_for("ranker")]
    assert names[:4] == ["clicks", "add_to_cart", "purchases", "position"]
    register_source(DataSource("retriever", "test_pairs", "test pairs", "pairs", ("test",)))
    try:
        assert sources_for("retriever")[-1].name == "test_pairs"
    finally:
        from training.ml import data_value_sources

        del data_value_sources._SOURCES["retriever"]["test_pairs"]
    with pytest.raises(ValueError):
        register_source(DataSource("nope", "x", "x", "event"))
