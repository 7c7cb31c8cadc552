"""Statistics for A/B experiments: fixed-horizon tests, sequential tests, SRM, CUPED, verdicts.

Conventions: "a" is control, "b" the variant; differences and lifts are ``b - a`` and
``b / a - 1``. Fixed-horizon tests (:func:`two_proportion_test`, :func:`welch_test`) are valid
once, at the planned sample size (:func:`sample_size`); for looking at results as they come
in, use the always-valid p-values of :func:`msprt`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from scipy import stats as _scipy_stats

__all__ = [
    "SRM",
    "Comparison",
    "Guardrail",
    "MeanComparison",
    "SequentialResult",
    "Verdict",
    "cuped",
    "cuped_test",
    "msprt",
    "msprt_means",
    "msprt_path",
    "sample_size",
    "srm_check",
    "two_proportion_test",
    "verdict",
    "welch_test",
    "welch_test_samples",
]

_NORMAL = NormalDist()


def _z_critical(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return _NORMAL.inv_cdf(1 - alpha / 2)


def _two_sided_normal_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def _ratio_se(mean_a: float, se_a: float, mean_b: float, se_b: float) -> float:
    """Delta-method standard error of ``mean_b / mean_a`` (independent groups)."""
    return math.sqrt(se_b**2 / mean_a**2 + mean_b**2 * se_a**2 / mean_a**4)


# -- fixed-horizon tests ----------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Two conversion rates compared with a two-proportion z-test.

    ``ci_low``/``ci_high`` bound the relative lift ``rate_b / rate_a - 1`` (delta method);
    ``abs_ci_low``/``abs_ci_high`` bound the absolute difference (unpooled standard error).
    Relative figures are NaN when ``rate_a`` is 0.
    """

    rate_a: float
    rate_b: float
    abs_diff: float
    rel_lift: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool
    n_a: int = 0
    n_b: int = 0
    x_a: int = 0
    x_b: int = 0
    alpha: float = 0.05
    abs_ci_low: float = math.nan
    abs_ci_high: float = math.nan


def _check_counts(x: int, n: int, label: str) -> None:
    if n <= 0:
        raise ValueError(f"n_{label} must be > 0, got {n}")
    if not 0 <= x <= n:
        raise ValueError(f"x_{label} must be in [0, n_{label}], got {x} of {n}")


def two_proportion_test(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = 0.05) -> Comparison:
    """Two-sided z-test of ``x_b/n_b`` against ``x_a/n_a``.

    The test statistic uses the pooled rate (the standard test, identical to a 2x2
    chi-square test without continuity correction: ``z**2 == chi2``); the confidence
    intervals use unpooled standard errors.
    """
    _check_counts(x_a, n_a, "a")
    _check_counts(x_b, n_b, "b")
    zc = _z_critical(alpha)
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = p_b - p_a
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = _two_sided_normal_p(z) if se_pooled > 0 else 1.0
    se_a = math.sqrt(p_a * (1 - p_a) / n_a)
    se_b = math.sqrt(p_b * (1 - p_b) / n_b)
    se_diff = math.hypot(se_a, se_b)
    if p_a > 0:
        lift = p_b / p_a - 1
        se_lift = _ratio_se(p_a, se_a, p_b, se_b)
        ci = (lift - zc * se_lift, lift + zc * se_lift)
    else:
        lift, ci = math.nan, (math.nan, math.nan)
    return Comparison(
        rate_a=p_a,
        rate_b=p_b,
        abs_diff=diff,
        rel_lift=lift,
        ci_low=ci[0],
        ci_high=ci[1],
        z=z,
        p_value=p_value,
        significant=p_value < alpha,
        n_a=n_a,
        n_b=n_b,
        x_a=x_a,
        x_b=x_b,
        alpha=alpha,
        abs_ci_low=diff - zc * se_diff,
        abs_ci_high=diff + zc * se_diff,
    )


@dataclass(frozen=True)
class MeanComparison:
    """Two means compared with Welch's t-test (unequal variances).

    ``ci_low``/``ci_high`` bound the relative lift ``mean_b / mean_a - 1`` (delta method, t
    quantile); ``abs_ci_low``/``abs_ci_high`` bound ``mean_b - mean_a``.
    """

    mean_a: float
    mean_b: float
    abs_diff: float
    rel_lift: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p_value: float
    significant: bool
    n_a: int = 0
    n_b: int = 0
    alpha: float = 0.05
    abs_ci_low: float = math.nan
    abs_ci_high: float = math.nan


def welch_test(
    mean_a: float,
    var_a: float,
    n_a: int,
    mean_b: float,
    var_b: float,
    n_b: int,
    alpha: float = 0.05,
) -> MeanComparison:
    """Welch's two-sided t-test from summary statistics (``var`` = sample variance, ddof 1).

    Degrees of freedom by the Welch-Satterthwaite equation; matches
    ``scipy.stats.ttest_ind(a, b, equal_var=False)`` on raw samples.
    """
    if n_a < 2 or n_b < 2:
        raise ValueError(f"each group needs at least 2 units, got {n_a} and {n_b}")
    if var_a < 0 or var_b < 0:
        raise ValueError("variances must be >= 0")
    _z_critical(alpha)
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    diff = mean_b - mean_a
    if se == 0:  # both groups constant: any difference is certain, none is nothing
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        df, p_value, half, tc = math.inf, float(diff == 0), 0.0, _z_critical(alpha)
    else:
        t = diff / se
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
        p_value = float(2 * _scipy_stats.t.sf(abs(t), df))
        tc = float(_scipy_stats.t.ppf(1 - alpha / 2, df))
        half = tc * se
    if mean_a != 0:
        lift = mean_b / mean_a - 1
        se_lift = _ratio_se(mean_a, math.sqrt(va), mean_b, math.sqrt(vb))
        ci = (lift - tc * se_lift, lift + tc * se_lift)
    else:
        lift, ci = math.nan, (math.nan, math.nan)
    return MeanComparison(
        mean_a=mean_a,
        mean_b=mean_b,
        abs_diff=diff,
        rel_lift=lift,
        ci_low=ci[0],
        ci_high=ci[1],
        t=t,
        df=df,
        p_value=p_value,
        significant=p_value < alpha,
        n_a=n_a,
        n_b=n_b,
        alpha=alpha,
        abs_ci_low=diff - half,
        abs_ci_high=diff + half,
    )


def welch_test_samples(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, alpha: float = 0.05
) -> MeanComparison:
    """Welch's t-test on raw per-unit values (e.g. revenue per shopper)."""
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.size < 2 or xb.size < 2:
        raise ValueError("each group needs at least 2 values")
    return welch_test(
        float(xa.mean()), float(xa.var(ddof=1)), int(xa.size),
        float(xb.mean()), float(xb.var(ddof=1)), int(xb.size),
        alpha,
    )  # fmt: skip


# -- sample ratio mismatch --------------------------------------------------------------


@dataclass(frozen=True)
class SRM:
    """Chi-square goodness-of-fit of observed variant sizes against the planned shares."""

    chi2: float
    p_value: float
    mismatch: bool


def srm_check(
    observed: Sequence[int], expected_shares: Sequence[float], threshold: float = 0.001
) -> SRM:
    """Detect a sample ratio mismatch: ``mismatch`` when ``p_value < threshold`` (0.001).

    ``expected_shares`` may be fractions or percentages (they are normalised). A strict
    threshold is the convention because the check runs on every experiment, often daily,
    and a true mismatch (broken assignment or logging) is usually glaring.
    """
    if len(observed) != len(expected_shares) or len(observed) < 2:
        raise ValueError("need at least two groups, with one expected share per group")
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.asarray(expected_shares, dtype=np.float64)
    if (counts < 0).any() or (shares < 0).any() or shares.sum() <= 0:
        raise ValueError("counts and shares must be >= 0, with some share > 0")
    total = counts.sum()
    if total == 0:
        return SRM(chi2=0.0, p_value=1.0, mismatch=False)
    expected = total * shares / shares.sum()
    if ((expected == 0) & (counts > 0)).any():
        return SRM(chi2=math.inf, p_value=0.0, mismatch=True)
    used = expected > 0
    chi2 = float((((counts - expected) ** 2)[used] / expected[used]).sum())
    dof = int(used.sum()) - 1
    p_value = float(_scipy_stats.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    return SRM(chi2=chi2, p_value=p_value, mismatch=p_value < threshold)


# -- planning ---------------------------------------------------------------------------


def sample_size(
    baseline_rate: float, mde_relative: float, power: float = 0.8, alpha: float = 0.05
) -> int:
    """Units per variant to detect a relative change ``mde_relative`` in a conversion rate.

    Two-sided two-proportion z-test, the standard formula (no continuity correction), with
    ``p1 = baseline``, ``p2 = baseline * (1 + mde)`` and ``p = (p1 + p2) / 2``::

        n = (z_{1-alpha/2} * sqrt(2 p (1-p)) + z_{power} * sqrt(p1 (1-p1) + p2 (1-p2)))**2
            / (p2 - p1)**2

    rounded up.
    """
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    if mde_relative == 0:
        raise ValueError("mde_relative must be non-zero")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    p1 = baseline_rate
    p2 = baseline_rate * (1 + mde_relative)
    if not 0 < p2 < 1:
        raise ValueError(f"baseline * (1 + mde) must be in (0, 1), got {p2}")
    p_bar = (p1 + p2) / 2
    numerator = (
        _z_critical(alpha) * math.sqrt(2 * p_bar * (1 - p_bar))
        + _NORMAL.inv_cdf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2
    return math.ceil(numerator / (p2 - p1) ** 2 - 1e-9)


# -- sequential testing (mSPRT) ---------------------------------------------------------


@dataclass(frozen=True)
class SequentialResult:
    """One look of a mixture sequential probability ratio test.

    ``estimate`` is ``b - a`` (rates or means) with variance ``variance``;
    ``likelihood_ratio`` is this look's mixture likelihood ratio; ``p_value`` and
    ``ci_low``/``ci_high`` are always valid: the running minimum of ``1 / ratio`` and the
    running intersection of the confidence sequence, so they may be read after every look.
    """

    estimate: float
    variance: float
    likelihood_ratio: float
    p_value: float
    ci_low: float
    ci_high: float
    significant: bool
    alpha: float = 0.05


def _msprt_step(
    estimate: float,
    variance: float,
    tau2: float,
    alpha: float,
    previous: SequentialResult | None,
) -> SequentialResult:
    if tau2 <= 0:
        raise ValueError(f"tau2 must be > 0, got {tau2}")
    _z_critical(alpha)
    prev_p = previous.p_value if previous else 1.0
    prev_lo = previous.ci_low if previous else -math.inf
    prev_hi = previous.ci_high if previous else math.inf
    if variance <= 0 or not math.isfinite(variance):
        # no spread yet (e.g. no conversions in either arm): no evidence either way
        return SequentialResult(
            estimate, variance, 1.0, prev_p, prev_lo, prev_hi, prev_p < alpha, alpha
        )
    # Johari et al. (2017), normal mixture N(0, tau2) over the effect under H0: effect = 0
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + (
        tau2 * estimate**2 / (2 * variance * (variance + tau2))
    )
    p_value = min(prev_p, 1.0, math.exp(-log_ratio) if log_ratio < 700 else 0.0)
    half = math.sqrt(
        variance * (variance + tau2) / tau2
        * (math.log((variance + tau2) / variance) - 2 * math.log(alpha))
    )  # fmt: skip
    lo, hi = max(prev_lo, estimate - half), min(prev_hi, estimate + half)
    return SequentialResult(
        estimate=estimate,
        variance=variance,
        likelihood_ratio=math.exp(min(log_ratio, 700)),
        p_value=p_value,
        ci_low=lo,
        ci_high=hi,
        significant=p_value < alpha,
        alpha=alpha,
    )


def msprt(
    x_a: int,
    n_a: int,
    x_b: int,
    n_b: int,
    tau2: float,
    *,
    alpha: float = 0.05,
    previous: SequentialResult | None = None,
) -> SequentialResult:
    """Always-valid p-value and confidence sequence for a difference of two proportions.

    Mixture SPRT (Johari, Pekelis and Walsh, 2017) with a normal approximation: the
    estimate ``p_b - p_a`` has variance ``V = p_a(1-p_a)/n_a + p_b(1-p_b)/n_b`` and, with a
    ``N(0, tau2)`` mixture over the effect,

        ratio = sqrt(V / (V + tau2)) * exp(tau2 * estimate**2 / (2 V (V + tau2)))

    The p-value is ``min(previous p, 1 / ratio)`` so it never increases; pass the previous
    look's result as ``previous`` (or use :func:`msprt_path`). ``tau2`` is the prior
    variance of the effect: about the square of the absolute effect you expect, e.g.
    ``(baseline * mde) ** 2``. Counts are cumulative.
    """
    _check_counts(x_a, n_a, "a")
    _check_counts(x_b, n_b, "b")
    p_a, p_b = x_a / n_a, x_b / n_b
    variance = p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b
    return _msprt_step(p_b - p_a, variance, tau2, alpha, previous)


def msprt_means(
    mean_a: float,
    var_a: float,
    n_a: int,
    mean_b: float,
    var_b: float,
    n_b: int,
    tau2: float,
    *,
    alpha: float = 0.05,
    previous: SequentialResult | None = None,
) -> SequentialResult:
    """:func:`msprt` for a difference of means (``V = var_a/n_a + var_b/n_b``)."""
    if n_a < 1 or n_b < 1:
        raise ValueError("each group needs at least one unit")
    return _msprt_step(mean_b - mean_a, var_a / n_a + var_b / n_b, tau2, alpha, previous)


def msprt_path(
    looks: Iterable[tuple[int, int, int, int]], tau2: float, *, alpha: float = 0.05
) -> list[SequentialResult]:
    """Run :func:`msprt` over successive cumulative looks ``(x_a, n_a, x_b, n_b)``."""
    results: list[SequentialResult] = []
    previous: SequentialResult | None = None
    for x_a, n_a, x_b, n_b in looks:
        previous = msprt(x_a, n_a, x_b, n_b, tau2, alpha=alpha, previous=previous)
        results.append(previous)
    return results


# -- variance reduction (CUPED) ---------------------------------------------------------


def cuped(
    y: Sequence[float] | np.ndarray, x_pre: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, float]:
    """CUPED adjustment (Deng et al., 2013): ``y - theta * (x_pre - mean(x_pre))``.

    ``theta = cov(y, x_pre) / var(x_pre)`` minimises the adjusted variance, which becomes
    ``var(y) * (1 - corr(y, x_pre)**2)``; the mean is unchanged. ``x_pre`` is the same
    metric (or a correlated one) measured before the experiment, so it cannot be affected
    by the treatment. With a constant ``x_pre``, ``theta`` is 0.
    """
    yv = np.asarray(y, dtype=np.float64)
    xv = np.asarray(x_pre, dtype=np.float64)
    if yv.shape != xv.shape or yv.ndim != 1:
        raise ValueError("y and x_pre must be 1-d arrays of the same length")
    if yv.size < 2:
        return yv.copy(), 0.0
    x_centred = xv - xv.mean()
    var_x = float(x_centred @ x_centred)
    theta = float(x_centred @ (yv - yv.mean()) / var_x) if var_x > 0 else 0.0
    return yv - theta * x_centred, theta


def cuped_test(
    y_a: Sequence[float] | np.ndarray,
    x_a: Sequence[float] | np.ndarray,
    y_b: Sequence[float] | np.ndarray,
    x_b: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
) -> MeanComparison:
    """Welch's t-test on CUPED-adjusted values.

    ``theta`` is estimated on both groups pooled and every unit is centred on the pooled
    pre-period mean, so the adjustment is the same function in both arms and the difference
    of means stays unbiased.
    """
    ya, yb = np.asarray(y_a, dtype=np.float64), np.asarray(y_b, dtype=np.float64)
    adjusted, _ = cuped(np.concatenate([ya, yb]), np.concatenate([x_a, x_b]))
    return welch_test_samples(adjusted[: ya.size], adjusted[ya.size :], alpha)


# -- verdict ----------------------------------------------------------------------------

Outcome = Literal[
    "winner", "loser", "no detectable difference", "guardrail breached", "not enough data"
]


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse, with the comparison for it.

    Breached when the change is significant, in the harmful direction, and larger than
    ``max_relative_harm`` (0.01 tolerates a 1% drop).
    """

    name: str
    comparison: Comparison | MeanComparison
    higher_is_better: bool = True
    max_relative_harm: float = 0.0

    @property
    def breached(self) -> bool:
        """Whether this guardrail stops the experiment."""
        c = self.comparison
        if not c.significant:
            return False
        harm = -c.abs_diff if self.higher_is_better else c.abs_diff
        if harm <= 0:
            return False
        if math.isnan(c.rel_lift):
            return True
        return abs(c.rel_lift) > self.max_relative_harm


@dataclass(frozen=True)
class Verdict:
    """The experiment's outcome and a sentence a merchandiser can act on."""

    outcome: Outcome
    sentence: str


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:+.1f}%"


def _too_little_for_normal_approx(c: Comparison | MeanComparison) -> bool:
    # rule of thumb: >= 10 successes and failures per arm for proportions, >= 30 units for means
    if isinstance(c, Comparison):
        return min(c.x_a, c.n_a - c.x_a, c.x_b, c.n_b - c.x_b) < 10
    return min(c.n_a, c.n_b) < 30


def verdict(
    primary: Comparison | MeanComparison,
    *,
    metric: str = "conversion rate",
    higher_is_better: bool = True,
    guardrails: Sequence[Guardrail] = (),
    srm: SRM | None = None,
    required_n: int | None = None,
    always_valid_p: float | None = None,
    always_valid_ci: tuple[float, float] | None = None,
) -> Verdict:
    """Decide an experiment, in this order.

    1. "guardrail breached": a sample ratio mismatch (the results cannot be trusted; the
       trust guardrail of Kohavi et al.) or any breached :class:`Guardrail`;
    2. "not enough data": too few units or events for the normal approximation, or fewer
       than ``required_n`` (from :func:`sample_size`) per variant on a fixed-horizon test —
       unless ``always_valid_p`` (from :func:`msprt`) is given, which may be read any time;
    3. "winner" / "loser": significant (``always_valid_p`` when given, else the primary
       comparison's p-value) in the good / bad direction for the metric;
    4. otherwise "no detectable difference".

    With ``always_valid_p``, the interval in the sentence is ``always_valid_ci`` (the mSPRT's
    confidence sequence of the absolute difference, shown relative to the control) when it is
    given: the fixed-horizon interval next to a sequential p-value could exclude zero while the
    verdict said "no detectable difference".
    """
    alpha = primary.alpha
    level = f"{(1 - alpha) * 100:g}%"
    if srm is not None and srm.mismatch:
        return Verdict(
            "guardrail breached",
            f"Sample ratio mismatch (p = {srm.p_value:.2g}): traffic did not split as planned, "
            "so assignment or logging is broken and the results cannot be trusted.",
        )
    breached = [g for g in guardrails if g.breached]
    if breached:
        detail = "; ".join(
            f"{g.name} {_pct(g.comparison.rel_lift)} (p = {g.comparison.p_value:.2g})"
            for g in breached
        )
        return Verdict(
            "guardrail breached",
            f"Guardrail breached: {detail}. Do not ship the variant, whatever {metric} did.",
        )
    n = min(primary.n_a, primary.n_b)
    if _too_little_for_normal_approx(primary) or (
        always_valid_p is None and required_n is not None and n < required_n
    ):
        needed = f" of the {required_n} planned" if required_n else ""
        return Verdict(
            "not enough data",
            f"Not enough data yet: {n} units in the smaller variant{needed}. Keep the "
            "experiment running before reading the result.",
        )
    if always_valid_p is not None:
        p_value, significant = always_valid_p, always_valid_p < alpha
    else:
        p_value, significant = primary.p_value, primary.significant
    base = getattr(primary, "rate_a", None)
    base = getattr(primary, "mean_a", 0.0) if base is None else base
    if always_valid_p is not None and always_valid_ci is not None and base:
        ci = f"always-valid {level} CI {_pct(always_valid_ci[0] / base)} to "
        ci += f"{_pct(always_valid_ci[1] / base)}"
    else:
        ci = f"{level} CI {_pct(primary.ci_low)} to {_pct(primary.ci_high)}"
    summary = f"{metric} {_pct(primary.rel_lift)} ({ci}, p = {p_value:.2g})"
    improved = (primary.abs_diff > 0) == higher_is_better and primary.abs_diff != 0
    if significant and improved:
        return Verdict("winner", f"The variant wins: {summary}. Ship it.")
    if significant:
        return Verdict("loser", f"The variant loses: {summary}. Keep the control.")
    return Verdict(
        "no detectable difference",
        f"No detectable difference: {summary}. The true effect is plausibly anywhere in "
        "that interval; keep the simpler option.",
    )
