"""The spike test's statistics on synthetic series (plain Python, no database)."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from recommend.insights.logic.sentiment import (
    DayCount,
    benjamini_hochberg,
    binomial_sf,
    phrases_of,
    review_phrase_counts,
    rising_phrases,
    spike_tests,
    spikes,
)

DAY = date(2026, 10, 28)


def test_binomial_tail_matches_the_sum_of_the_pmf():
    n, p = 12, 0.3
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    for k in range(n + 1):
        assert math.isclose(binomial_sf(k, n, p), sum(pmf[k:]), rel_tol=1e-9)
    assert binomial_sf(0, 5, 0.2) == 1.0 and binomial_sf(6, 5, 0.2) == 0.0
    # a tail far below float's resolution around 1 is still right (log space)
    assert 0 < binomial_sf(60, 60, 0.05) < 1e-70


def test_benjamini_hochberg_matches_the_textbook_example():
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    q = benjamini_hochberg(p)
    # sorted: 0.005*5/1=0.025, 0.01*5/2=0.025, 0.03*5/3=0.05, 0.04*5/4=0.05, 0.2*5/5=0.2
    assert [round(x, 4) for x in q] == [0.025, 0.05, 0.05, 0.025, 0.2]
    assert benjamini_hochberg([]) == []


def _history(series, rng, *, days=28, reviews=8, share=0.15):
    out = []
    for d in range(1, days + 1):
        n = reviews
        k = sum(rng.random() < share for _ in range(n))
        out.append(DayCount(series, DAY - timedelta(days=d), n, k))
    return out


def test_a_spike_stands_out_of_thousands_of_quiet_series_and_bh_holds_the_false_alarms():
    rng = random.Random(5)
    counts = []
    for key in range(2000):  # 2000 quiet products: same share today as in their history
        series = ("product", key)
        share = rng.choice((0.05, 0.15, 0.3))
        counts += _history(series, rng, share=share)
        n = 8
        counts.append(DayCount(series, DAY, n, sum(rng.random() < share for _ in range(n))))
    counts += _history(("product", 9999), rng, share=0.1)
    counts.append(DayCount(("product", 9999), DAY, 12, 10))  # the spike: 10 of 12 negative
    tested = spike_tests(counts, day=DAY)
    found = spikes(tested)
    assert [t.series for t in found] == [("product", 9999)]
    assert found[0].baseline_share < 0.2 and found[0].q_value < 1e-4
    # without BH, the raw p-values of the quiet series would raise false alarms at 5 %
    assert sum(t.p_value <= 0.05 for t in tested) > 1


def test_minimum_volume_and_the_series_own_baseline():
    rng = random.Random(1)
    # a product that is always bad is not a spike on a bad day: its own baseline is high
    always_bad = _history(("product", 1), rng, share=0.8)
    always_bad.append(DayCount(("product", 1), DAY, 10, 9))
    # 3 of 3 negative is below the minimum volume
    tiny = _history(("product", 2), rng, share=0.1) + [DayCount(("product", 2), DAY, 3, 3)]
    assert spikes(spike_tests(always_bad + tiny, day=DAY)) == []
    # a product with no history is judged against its level's pooled share, not against 0
    fresh = [DayCount(("product", 3), DAY, 6, 2)] + _history(("product", 4), rng, share=0.3)
    assert spikes(spike_tests(fresh, day=DAY)) == []


def test_rising_phrases_find_the_new_complaint():
    earlier = [
        "Great camera, the battery lasts and the lens is sharp.",
        "Good value. The lens is sharp.",
        "Disappointed, the menu is slow.",
    ] * 5
    recent = [
        "Terrible. It arrived damaged and the packaging was torn.",
        "Arrived damaged, the box was crushed.",
        "It arrived damaged again, the menu is slow.",
        "Poor lens.",
    ]
    complaints = ["Disappointed, the menu is slow.", "Disappointed. Poor lens."] * 20
    background = review_phrase_counts(complaints)
    phrases = rising_phrases(
        recent + ["Disappointed, poor lens."] * 2,
        earlier,
        background=background,
        background_total=len(complaints),
    )
    assert phrases and phrases[0].phrase == "arrived damaged"
    assert phrases[0].recent == 3 and phrases[0].earlier == 0
    # what complaints usually say does not rise, even on a product with few earlier reviews
    assert not {"disappointed", "poor lens"} & {p.phrase for p in phrases}
    assert len(phrases) == 1
    assert "the" not in phrases_of("The lens is the best")  # stop words never bound a phrase


def test_bh_counts_every_series_with_the_volume_not_only_the_ones_that_rose():
    """One moderately unusual day among 100 series tested: a spike on its own (p ≈ 0.002), not
    once the 99 quiet series with the same volume are in the family."""
    counts = []
    for key in range(100):
        series = ("brand", key)
        counts += [DayCount(series, DAY - timedelta(days=d), 20, 4) for d in range(1, 29)]
        counts.append(DayCount(series, DAY, 10, 7 if key == 0 else 2))
    tested = spike_tests(counts, day=DAY)
    assert len(tested) == 100
    alone = next(t for t in tested if t.series == ("brand", 0))
    assert alone.p_value < 0.005 and alone.q_value > 0.05
    assert spikes(tested) == []
