"""Experiment assignment and statistics, checked against hand calculations and scipy."""

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from recommend.experiments.logic.assignment import assign, bucket, validate_allocation
from recommend.experiments.logic.stats import (
    Guardrail,
    cuped,
    cuped_test,
    msprt,
    msprt_means,
    msprt_path,
    sample_size,
    srm_check,
    two_proportion_test,
    verdict,
    welch_test,
    welch_test_samples,
)

# -- assignment -------------------------------------------------------------------------

VARIANTS = [("control", 50), ("variant", 50)]


def test_assignment_is_deterministic_and_sticky():
    first = [assign("exp-1", f"shopper-{i}", VARIANTS) for i in range(1000)]
    again = [assign("exp-1", f"shopper-{i}", VARIANTS) for i in range(1000)]
    assert first == again
    assert bucket("exp-1", "shopper-1") == bucket("exp-1", "shopper-1")
    assert 0 <= bucket("exp-1", "x") < 10_000


def test_assignment_shares_within_one_point_over_100k_ids():
    variants = [("a", 20), ("b", 30), ("c", 40)]
    counts = Counter(
        assign("exp-shares", str(i), variants, holdout_percent=10) for i in range(100_000)
    )
    expected = {"a": 0.20, "b": 0.30, "c": 0.40, None: 0.10}
    for key, share in expected.items():
        assert abs(counts[key] / 100_000 - share) < 0.01, (key, counts[key])


def test_holdout_is_stable_when_variant_shares_change():
    before = {i: assign("exp-h", str(i), [("a", 50), ("b", 45)], 5) for i in range(5000)}
    after = {i: assign("exp-h", str(i), [("a", 80), ("b", 15)], 5) for i in range(5000)}
    assert {i for i, v in before.items() if v is None} == {i for i, v in after.items() if v is None}
    # units only move from b to a when a grows
    assert all(after[i] == "a" for i, v in before.items() if v == "a")


def test_different_salts_split_independently():
    same = sum(
        assign("exp-x", str(i), VARIANTS) == assign("exp-y", str(i), VARIANTS)
        for i in range(10_000)
    )
    assert 0.47 < same / 10_000 < 0.53


def test_thirds_and_zero_shares():
    thirds = [("a", 100 / 3), ("b", 100 / 3), ("c", 100 / 3)]
    assert validate_allocation(thirds)[-1] == ("c", 10_000)
    assert {assign("t", str(i), [("a", 100), ("b", 0)]) for i in range(500)} == {"a"}


@pytest.mark.parametrize(
    ("variants", "holdout", "message"),
    [
        ([("a", 50), ("b", 40)], 0, "must sum to 100"),
        ([("a", 50), ("b", 50)], 10, "must sum to 100"),
        ([("a", 50), ("a", 50)], 0, "unique"),
        ([("a", 110), ("b", -10)], 0, ">= 0"),
        ([], 0, "at least one variant"),
        ([("a", 100)], 100, "holdout_percent"),
    ],
)
def test_invalid_allocations_raise(variants, holdout, message):
    with pytest.raises(ValueError, match=message):
        assign("exp", "u1", variants, holdout)


# -- two proportions --------------------------------------------------------------------


def test_two_proportion_worked_example():
    # 200/1000 vs 250/1000: pooled p = 0.225, SE = sqrt(0.225 * 0.775 * 2 / 1000) = 0.018675
    result = two_proportion_test(200, 1000, 250, 1000)
    assert result.rate_a == 0.2 and result.rate_b == 0.25
    assert result.abs_diff == pytest.approx(0.05)
    assert result.rel_lift == pytest.approx(0.25)
    assert result.z == pytest.approx(2.6774, abs=1e-4)
    assert result.p_value == pytest.approx(0.00742, abs=1e-5)
    assert result.significant
    # delta method: var(lift) = 0.0001875 / 0.2**2 + 0.25**2 * 0.00016 / 0.2**4 = 0.0109375
    half = 1.959964 * math.sqrt(0.0109375)
    assert result.ci_low == pytest.approx(0.25 - half, abs=1e-5)
    assert result.ci_high == pytest.approx(0.25 + half, abs=1e-5)


def test_two_proportion_matches_scipy_chi_square():
    result = two_proportion_test(531, 10_234, 602, 10_198)
    chi2, p, _, _ = stats.chi2_contingency(
        [[531, 10_234 - 531], [602, 10_198 - 602]], correction=False
    )
    assert result.z**2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p)


def test_two_proportion_degenerate_inputs():
    same = two_proportion_test(0, 100, 0, 100)
    assert same.p_value == 1.0 and not same.significant and math.isnan(same.rel_lift)
    with pytest.raises(ValueError):
        two_proportion_test(5, 0, 1, 10)
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 1, 10)


def test_aa_tests_reject_about_five_percent():
    rng = np.random.default_rng(2024)
    n = 2000
    xa, xb = rng.binomial(n, 0.1, size=3000), rng.binomial(n, 0.1, size=3000)
    p_values = np.array(
        [two_proportion_test(int(a), n, int(b), n).p_value for a, b in zip(xa, xb, strict=True)]
    )
    assert 0.035 < (p_values < 0.05).mean() < 0.065
    # roughly uniform: each decile holds about a tenth
    deciles = np.histogram(p_values, bins=10, range=(0, 1))[0] / p_values.size
    assert np.all(np.abs(deciles - 0.1) < 0.035)  # binomial p-values are lumpy


# -- means ------------------------------------------------------------------------------


def test_welch_matches_scipy():
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 10.0, 300), rng.gamma(2.2, 10.0, 200)
    ours = welch_test_samples(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert ours.t == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue)
    assert ours.df == pytest.approx(ref.df)
    ci = ref.confidence_interval(0.95)
    assert (ours.abs_ci_low, ours.abs_ci_high) == pytest.approx((ci.low, ci.high))


def test_welch_from_summaries_hand_example():
    # diff 2, SE = sqrt(16/50 + 25/50) = 0.9055, t = 2.2086
    result = welch_test(10.0, 16.0, 50, 12.0, 25.0, 50)
    assert result.t == pytest.approx(2 / math.sqrt(0.82))
    assert result.df == pytest.approx(0.82**2 / ((0.32**2 + 0.5**2) / 49))
    assert result.rel_lift == pytest.approx(0.2)
    with pytest.raises(ValueError):
        welch_test(1, 1, 1, 1, 1, 10)


# -- SRM --------------------------------------------------------------------------------


def test_srm_hand_example_and_scipy():
    # 50/50 split of 100,000: chi2 = 2 * 500**2 / 50,000 = 10, p = 0.00157 (> 0.001)
    ok = srm_check([50_500, 49_500], [50, 50])
    assert ok.chi2 == pytest.approx(10.0)
    assert ok.p_value == pytest.approx(0.001565, abs=1e-6)
    assert not ok.mismatch
    # 800 off: chi2 = 25.6, p = 4.2e-7
    bad = srm_check([50_800, 49_200], [0.5, 0.5])
    assert bad.chi2 == pytest.approx(25.6) and bad.mismatch
    ref = stats.chisquare([3100, 2950, 3950], f_exp=[3000, 3000, 4000])
    three = srm_check([3100, 2950, 3950], [30, 30, 40])
    assert three.chi2 == pytest.approx(ref.statistic) and three.p_value == pytest.approx(ref.pvalue)


def test_srm_edge_cases():
    assert srm_check([0, 0], [1, 1]).p_value == 1.0
    assert srm_check([10, 5], [1, 0]).mismatch
    with pytest.raises(ValueError):
        srm_check([10], [1])


# -- planning ---------------------------------------------------------------------------


def test_sample_size_hand_examples():
    # p1 = 0.10, p2 = 0.12, p = 0.11:
    # (1.959964 * sqrt(2 * .11 * .89) + 0.841621 * sqrt(.09 + .1056))**2 / 0.02**2 = 3840.9
    assert sample_size(0.10, 0.20) == 3841
    # p1 = 0.05, p2 = 0.055: 0.780827 / 0.000025 = 31233.1
    assert sample_size(0.05, 0.10) == 31234
    assert sample_size(0.10, 0.20, power=0.9) > 3841
    assert sample_size(0.10, -0.20) > 0
    with pytest.raises(ValueError):
        sample_size(0.6, 1.0)


# -- sequential -------------------------------------------------------------------------


def test_msprt_hand_example():
    # V = .12 * .88 / 1000 + .16 * .84 / 1000 = 0.00024; tau2 = 0.0004
    # ratio = sqrt(0.375) * exp(0.0004 * 0.04**2 / (2 * 0.00024 * 0.00064)) = 4.9181
    result = msprt(120, 1000, 160, 1000, tau2=0.0004)
    assert result.likelihood_ratio == pytest.approx(4.9181, abs=1e-4)
    assert result.p_value == pytest.approx(1 / 4.9181, abs=1e-4)
    assert result.ci_low < 0.04 < result.ci_high


def _path(rng, looks, per_look, rate_a, rate_b):
    xa = np.cumsum(rng.binomial(per_look, rate_a, looks))
    xb = np.cumsum(rng.binomial(per_look, rate_b, looks))
    n = per_look * np.arange(1, looks + 1)
    return [(int(a), int(m), int(b), int(m)) for a, b, m in zip(xa, xb, n, strict=True)]


def test_msprt_p_value_never_increases_and_ci_only_narrows():
    rng = np.random.default_rng(11)
    results = msprt_path(_path(rng, 80, 200, 0.1, 0.1), tau2=0.0001)
    p = [r.p_value for r in results]
    assert all(later <= earlier for earlier, later in zip(p, p[1:], strict=False))
    assert all(
        b.ci_low >= a.ci_low and b.ci_high <= a.ci_high
        for a, b in zip(results, results[1:], strict=False)
    )


def test_msprt_controls_false_positives_under_continuous_peeking():
    rng = np.random.default_rng(5)
    runs = 300
    rejected = sum(
        msprt_path(_path(rng, 40, 250, 0.1, 0.1), tau2=0.0001)[-1].significant for _ in range(runs)
    )
    assert rejected / runs <= 0.05
    # and it detects a real lift from 10% to 13%
    found = sum(
        msprt_path(_path(rng, 40, 250, 0.1, 0.13), tau2=0.0001)[-1].significant for _ in range(50)
    )
    assert found >= 40


def test_msprt_means_and_no_evidence_without_variance():
    result = msprt_means(10.0, 4.0, 500, 10.6, 4.0, 500, tau2=0.25)
    assert result.significant and result.estimate == pytest.approx(0.6)
    assert msprt(0, 100, 0, 100, tau2=0.01).p_value == 1.0


# -- CUPED ------------------------------------------------------------------------------


def test_cuped_reduces_variance_on_correlated_data():
    rng = np.random.default_rng(3)
    x = rng.normal(50, 10, 5000)
    y = 0.8 * x + rng.normal(0, 4, 5000)
    adjusted, theta = cuped(y, x)
    assert theta == pytest.approx(np.cov(x, y)[0, 1] / np.var(x, ddof=1))
    assert adjusted.mean() == pytest.approx(y.mean())
    corr = np.corrcoef(x, y)[0, 1]
    assert adjusted.var() == pytest.approx(y.var() * (1 - corr**2), rel=1e-9)
    assert adjusted.var() < 0.3 * y.var()
    assert cuped(y[:10], np.ones(10))[1] == 0.0


def test_cuped_test_narrows_the_interval_and_gains_power():
    rng = np.random.default_rng(8)
    n, runs = 500, 200
    raw_hits = cuped_hits = 0
    for _ in range(runs):
        xa, xb = rng.normal(100, 20, n), rng.normal(100, 20, n)
        ya = xa + rng.normal(0, 5, n)
        yb = xb + rng.normal(0, 5, n) + 1.0  # a 1% lift under a large between-user spread
        raw = welch_test_samples(ya, yb)
        adjusted = cuped_test(ya, xa, yb, xb)
        assert (adjusted.abs_ci_high - adjusted.abs_ci_low) < 0.4 * (
            raw.abs_ci_high - raw.abs_ci_low
        )
        raw_hits += raw.significant
        cuped_hits += adjusted.significant
    # expected power: raw SE 1.30 -> about 12%; CUPED SE 0.32 -> about 89%
    assert raw_hits / runs < 0.3
    assert cuped_hits / runs > 0.75


# -- verdict ----------------------------------------------------------------------------


def test_verdict_outcomes():
    win = two_proportion_test(1000, 10_000, 1150, 10_000)
    lose = two_proportion_test(1150, 10_000, 1000, 10_000)
    flat = two_proportion_test(1000, 10_000, 1010, 10_000)
    assert verdict(win).outcome == "winner"
    assert "+15.0%" in verdict(win).sentence
    assert verdict(lose).outcome == "loser"
    assert verdict(lose, higher_is_better=False).outcome == "winner"
    assert verdict(flat).outcome == "no detectable difference"
    assert verdict(win, required_n=20_000).outcome == "not enough data"
    assert verdict(win, required_n=20_000, always_valid_p=0.01).outcome == "winner"
    assert verdict(win, always_valid_p=0.2).outcome == "no detectable difference"
    assert verdict(two_proportion_test(3, 50, 9, 50)).outcome == "not enough data"


def test_a_sequential_verdict_shows_the_always_valid_interval_not_the_fixed_horizon_one():
    """A +30 % lift whose fixed-horizon CI excludes zero, read with an mSPRT whose prior (tau2
    from a 10 % baseline and a 10 % MDE) is far narrower than the effect: the always-valid
    p-value is large, so the verdict is "no detectable difference" — and the sentence must show
    the confidence sequence (which contains zero), not the fixed CI that does not."""
    fixed = two_proportion_test(200, 400, 260, 400)
    assert fixed.ci_low > 0
    seq = msprt(200, 400, 260, 400, tau2=(0.1 * 0.1) ** 2)
    assert seq.p_value > 0.05 and seq.ci_low < 0 < seq.ci_high
    result = verdict(fixed, always_valid_p=seq.p_value, always_valid_ci=(seq.ci_low, seq.ci_high))
    assert result.outcome == "no detectable difference"
    low = f"{seq.ci_low / fixed.rate_a * 100:+.1f}%"
    assert "always-valid 95% CI " + low in result.sentence, result.sentence
    assert f"{fixed.ci_low * 100:+.1f}%" not in result.sentence
    wide_prior = msprt(200, 400, 260, 400, tau2=0.15**2)  # a prior the size of the effect
    assert wide_prior.p_value < 0.05 and wide_prior.ci_low > 0


def test_verdict_guardrails_and_srm_come_first():
    win = two_proportion_test(1000, 10_000, 1150, 10_000)
    slower = welch_test(200.0, 900.0, 10_000, 210.0, 900.0, 10_000)  # latency up 5%
    guard = Guardrail("p95 latency", slower, higher_is_better=False)
    result = verdict(win, guardrails=[guard])
    assert result.outcome == "guardrail breached" and "p95 latency" in result.sentence
    assert (
        verdict(win, guardrails=[Guardrail("p95 latency", slower, False, 0.10)]).outcome == "winner"
    )
    srm = srm_check([10_000, 10_600], [50, 50])
    assert verdict(win, srm=srm).outcome == "guardrail breached"
    assert "Sample ratio mismatch" in verdict(win, srm=srm).sentence
