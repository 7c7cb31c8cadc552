"""An experiment's analysis from per-unit aggregates (plain Python + numpy, no Django).

The selector (``recommend.experiments.selectors``) turns the exposure and event tables into
:class:`UnitRows` — one row per (unit, time bucket) with the unit's exposures, clicked
exposures, zero-result exposures, carts, purchases, revenue and summed latency — and
:func:`analyse` does the rest with the tests of :mod:`recommend.experiments.logic.stats`:

- per variant: exposed units, CTR, add-to-cart rate, conversion rate, revenue per exposed
  unit, zero-result rate, mean latency (p95 comes from SQL);
- against the control, per metric: relative lift with its 95% CI — two-proportion z-test for
  the unit-level rates (add-to-cart, conversion), Welch's t-test for revenue, and the delta
  method for the per-exposure ratios (CTR, zero-result rate, latency), whose exposures are
  clustered within units;
- the primary metric's CUPED estimate when shoppers have pre-period values, its always-valid
  mSPRT p-value and confidence sequence, SRM, guardrails and the verdict;
- cumulative looks, one per time bucket, for the lift-over-time chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from recommend.experiments.logic.stats import (
    SRM,
    Comparison,
    Guardrail,
    MeanComparison,
    SequentialResult,
    Verdict,
    cuped,
    msprt,
    msprt_means,
    srm_check,
    two_proportion_test,
    verdict,
    welch_test_samples,
)

__all__ = [
    "CUPED_METRICS",
    "LOWER_IS_BETTER",
    "METRIC_LABELS",
    "Analysis",
    "ArmResult",
    "ArmSpec",
    "Look",
    "TreatmentResult",
    "UnitRows",
    "analyse",
    "compare_metric",
    "metric_value",
    "ratio_mean_test",
    "ratio_test",
    "unit_stats",
]

_NORMAL = NormalDist()

METRIC_LABELS = {
    "ctr": "click-through rate",
    "add_to_cart_rate": "add-to-cart rate",
    "conversion_rate": "conversion rate",
    "revenue_per_shopper": "revenue per exposed shopper",
    "zero_result_rate": "zero-result rate",
    "latency": "mean latency",
}
METRICS = tuple(METRIC_LABELS)
LOWER_IS_BETTER = frozenset({"zero_result_rate", "latency"})
# Metrics measured once per unit, where a pre-period value of the same behaviour exists.
CUPED_METRICS = frozenset({"add_to_cart_rate", "conversion_rate", "revenue_per_shopper"})


# -- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRows:
    """Per (unit, time bucket) aggregates: parallel arrays of equal length.

    ``arm`` indexes the arms passed to :func:`analyse`; ``unit`` is a unit index (global over
    arms); ``bucket`` the time bucket of the exposures (0, 1, ...). Event outcomes count in
    the bucket of the exposure they are attributed to.
    """

    arm: np.ndarray
    unit: np.ndarray
    bucket: np.ndarray
    exposures: np.ndarray
    clicked: np.ndarray
    zero: np.ndarray
    carts: np.ndarray
    purchases: np.ndarray
    revenue: np.ndarray
    latency: np.ndarray

    @classmethod
    def from_records(cls, records: Sequence[Sequence[float]]) -> UnitRows:
        """From tuples ``(arm, unit, bucket, exposures, clicked, zero, carts, purchases,
        revenue, latency_sum)``."""
        data = np.asarray(records, dtype=np.float64).reshape(-1, 10)
        ints = [data[:, i].astype(np.int64) for i in range(8)]
        return cls(*ints, data[:, 8].copy(), data[:, 9].copy())

    def upto(self, bucket: int) -> UnitRows:
        keep = self.bucket <= bucket
        return UnitRows(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return int(self.arm.size)


@dataclass(frozen=True)
class UnitStats:
    """One arm's per-unit totals (arrays over its units)."""

    units: np.ndarray  # unit indexes
    exposures: np.ndarray
    clicked: np.ndarray
    zero: np.ndarray
    carted: np.ndarray  # 0/1
    purchased: np.ndarray  # 0/1
    revenue: np.ndarray
    latency: np.ndarray  # summed latency of the unit's exposures

    @property
    def n(self) -> int:
        return int(self.units.size)


def unit_stats(rows: UnitRows, arm: int) -> UnitStats:
    """Totals per unit of one arm (units with at least one exposure)."""
    mask = (rows.arm == arm) & (rows.exposures > 0)
    units, inverse = np.unique(rows.unit[mask], return_inverse=True)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values[mask].astype(np.float64), minlength=units.size)

    return UnitStats(
        units=units,
        exposures=total(rows.exposures),
        clicked=total(rows.clicked),
        zero=total(rows.zero),
        carted=(total(rows.carts) > 0).astype(np.float64),
        purchased=(total(rows.purchases) > 0).astype(np.float64),
        revenue=total(rows.revenue),
        latency=total(rows.latency),
    )


# -- tests for per-exposure ratios (delta method) -------------------------------------------


def _ratio_and_variance(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """``sum(num) / sum(den)`` over units and its delta-method variance.

    ``Var(R) ≈ (s²_y − 2R·s_xy + R²·s²_x) / (n · x̄²)`` with y the numerator and x the
    denominator per unit (sample moments, ddof 1): exposures of one shopper are not
    independent, units are.
    """
    n = num.size
    mean_x = float(den.mean())
    ratio = float(num.sum() / den.sum())
    if n < 2:
        return ratio, math.nan
    var_y = float(num.var(ddof=1))
    var_x = float(den.var(ddof=1))
    cov = float(np.cov(num, den, ddof=1)[0, 1])
    variance = (var_y - 2 * ratio * cov + ratio**2 * var_x) / (n * mean_x**2)
    return ratio, max(variance, 0.0)


def _z_critical(alpha: float) -> float:
    return _NORMAL.inv_cdf(1 - alpha / 2)


def _lift_ci(
    a: float, var_a: float, b: float, var_b: float, crit: float
) -> tuple[float, float, float]:
    """Relative lift ``b / a - 1`` and its interval on the log scale (delta method on
    ``log b - log a``, so the interval stays asymmetric and positive for large ratios); the
    difference's interval divided by ``a`` when ``b`` is 0 (the log is undefined)."""
    if a <= 0:
        return math.nan, math.nan, math.nan
    lift = b / a - 1
    if b > 0:
        se_log = math.sqrt(var_b / b**2 + var_a / a**2)
        return (
            lift,
            math.exp(math.log(b / a) - crit * se_log) - 1,
            math.exp(math.log(b / a) + crit * se_log) - 1,
        )
    se = math.sqrt(var_a + var_b) / a  # b = 0: the difference's interval, relative to a
    return lift, max(-1.0, lift - crit * se), lift + crit * se  # rates and means here are >= 0


def ratio_test(num_a, den_a, num_b, den_b, alpha: float = 0.05) -> Comparison:
    """Compare two per-exposure rates ``sum(num)/sum(den)`` (e.g. clicked / served lists),
    with unit-level (clustered) delta-method standard errors: a two-sided z-test on the
    difference, and the relative lift's interval on the log scale.

    The :class:`Comparison`'s counts are exposure totals: ``x`` = sum of ``num``, ``n`` =
    sum of ``den``.
    """
    na, da = np.asarray(num_a, dtype=np.float64), np.asarray(den_a, dtype=np.float64)
    nb, db = np.asarray(num_b, dtype=np.float64), np.asarray(den_b, dtype=np.float64)
    if da.sum() <= 0 or db.sum() <= 0:
        raise ValueError("each group needs at least one exposure")
    ra, va = _ratio_and_variance(na, da)
    rb, vb = _ratio_and_variance(nb, db)
    crit = _z_critical(alpha)
    diff = rb - ra
    se = math.sqrt(va + vb) if math.isfinite(va + vb) else math.nan
    if se and math.isfinite(se):
        z = diff / se
        p_value = math.erfc(abs(z) / math.sqrt(2))
    else:
        z, p_value = 0.0, 1.0
    lift, lo, hi = _lift_ci(ra, va, rb, vb, crit) if math.isfinite(va + vb) else (math.nan,) * 3
    return Comparison(
        rate_a=ra, rate_b=rb, abs_diff=diff, rel_lift=lift, ci_low=lo, ci_high=hi, z=z,
        p_value=p_value, significant=p_value < alpha,
        n_a=int(round(da.sum())), n_b=int(round(db.sum())),
        x_a=int(round(na.sum())), x_b=int(round(nb.sum())), alpha=alpha,
        abs_ci_low=diff - crit * se if se == se else math.nan,
        abs_ci_high=diff + crit * se if se == se else math.nan,
    )  # fmt: skip


def ratio_mean_test(num_a, den_a, num_b, den_b, alpha: float = 0.05) -> MeanComparison:
    """:func:`ratio_test` for a per-exposure mean (e.g. latency per served list); ``n`` are
    unit counts."""
    c = ratio_test(num_a, den_a, num_b, den_b, alpha)
    return MeanComparison(
        mean_a=c.rate_a, mean_b=c.rate_b, abs_diff=c.abs_diff, rel_lift=c.rel_lift,
        ci_low=c.ci_low, ci_high=c.ci_high, t=c.z, df=math.inf, p_value=c.p_value,
        significant=c.significant, n_a=len(num_a), n_b=len(num_b), alpha=alpha,
        abs_ci_low=c.abs_ci_low, abs_ci_high=c.abs_ci_high,
    )  # fmt: skip


# -- metrics ---------------------------------------------------------------------------------


def metric_value(metric: str, s: UnitStats) -> float:
    """The metric's value for one arm (NaN without data)."""
    if s.n == 0:
        return math.nan
    exposures = s.exposures.sum()
    return {
        "ctr": lambda: s.clicked.sum() / exposures,
        "zero_result_rate": lambda: s.zero.sum() / exposures,
        "latency": lambda: s.latency.sum() / exposures,
        "add_to_cart_rate": lambda: s.carted.mean(),
        "conversion_rate": lambda: s.purchased.mean(),
        "revenue_per_shopper": lambda: s.revenue.mean(),
    }[metric]()


def unit_values(metric: str, s: UnitStats) -> np.ndarray:
    """The per-unit outcome of a unit-level metric (CUPED and Welch work on these)."""
    return {
        "add_to_cart_rate": s.carted,
        "conversion_rate": s.purchased,
        "revenue_per_shopper": s.revenue,
    }[metric]


def compare_metric(
    metric: str, a: UnitStats, b: UnitStats, alpha: float = 0.05
) -> Comparison | MeanComparison | None:
    """Variant ``b`` against control ``a`` on one metric; None when there is too little data
    to compute the test at all."""
    if a.n < 2 or b.n < 2:
        return None
    if metric == "ctr":
        return ratio_test(a.clicked, a.exposures, b.clicked, b.exposures, alpha)
    if metric == "zero_result_rate":
        return ratio_test(a.zero, a.exposures, b.zero, b.exposures, alpha)
    if metric == "latency":
        return ratio_mean_test(a.latency, a.exposures, b.latency, b.exposures, alpha)
    if metric in ("add_to_cart_rate", "conversion_rate"):
        ya, yb = unit_values(metric, a), unit_values(metric, b)
        return two_proportion_test(int(ya.sum()), a.n, int(yb.sum()), b.n, alpha)
    if metric == "revenue_per_shopper":
        return welch_test_samples(a.revenue, b.revenue, alpha)
    raise ValueError(f"unknown metric {metric!r}")


def _sequential_step(
    metric: str,
    a: UnitStats,
    b: UnitStats,
    tau2: float,
    alpha: float,
    previous: SequentialResult | None,
    adjusted: tuple[np.ndarray, np.ndarray] | None = None,
) -> SequentialResult | None:
    """One mSPRT look on the metric (on CUPED-adjusted unit values when given)."""
    if a.n < 2 or b.n < 2:
        return previous
    if adjusted is not None:
        ya, yb = adjusted
        return msprt_means(
            float(ya.mean()),
            float(ya.var(ddof=1)),
            ya.size,
            float(yb.mean()),
            float(yb.var(ddof=1)),
            yb.size,
            tau2,
            alpha=alpha,
            previous=previous,
        )
    if metric in ("add_to_cart_rate", "conversion_rate"):
        ya, yb = unit_values(metric, a), unit_values(metric, b)
        return msprt(int(ya.sum()), a.n, int(yb.sum()), b.n, tau2, alpha=alpha, previous=previous)
    if metric == "revenue_per_shopper":
        return msprt_means(
            float(a.revenue.mean()),
            float(a.revenue.var(ddof=1)),
            a.n,
            float(b.revenue.mean()),
            float(b.revenue.var(ddof=1)),
            b.n,
            tau2,
            alpha=alpha,
            previous=previous,
        )
    num, den = {
        "ctr": ("clicked", "exposures"),
        "zero_result_rate": ("zero", "exposures"),
        "latency": ("latency", "exposures"),
    }[metric]
    ra, va = _ratio_and_variance(getattr(a, num), getattr(a, den))
    rb, vb = _ratio_and_variance(getattr(b, num), getattr(b, den))
    # msprt_means uses V = var_a/n_a + var_b/n_b: pass the ratio's variance scaled by n
    return msprt_means(ra, va * a.n, a.n, rb, vb * b.n, b.n, tau2, alpha=alpha, previous=previous)


# -- analysis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmSpec:
    """A variant as the analysis sees it."""

    key: str
    share: float
    is_control: bool = False
    label: str = ""


@dataclass
class ArmResult:
    key: str
    label: str
    share: float
    is_control: bool
    units: int
    exposures: int
    values: dict[str, float]
    p95_latency_ms: float | None = None
    comparisons: dict[str, Comparison | MeanComparison | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Look:
    """One cumulative look at the primary metric: relative lift and its interval."""

    bucket: int
    units_control: int
    units_variant: int
    lift: float
    ci_low: float
    ci_high: float


@dataclass
class TreatmentResult:
    """One variant against the control on the primary metric, with its decision."""

    key: str
    primary: Comparison | MeanComparison | None
    cuped: MeanComparison | None
    variance_reduction: float | None
    sequential: SequentialResult | None
    sequential_lift_ci: tuple[float, float] | None
    guardrails: list[Guardrail]
    verdict: Verdict
    looks: list[Look]


@dataclass
class Analysis:
    primary_metric: str
    alpha: float
    comparison_alpha: float
    arms: list[ArmResult]
    srm: SRM | None
    treatments: list[TreatmentResult]
    outcome: str
    sentence: str
    recommended: str | None
    required_n: int | None
    sequential: bool
    cuped_available: bool

    @property
    def control(self) -> ArmResult:
        return next(a for a in self.arms if a.is_control)


def _pre_values(
    pre: Mapping[str, np.ndarray] | None, metric: str, s: UnitStats
) -> np.ndarray | None:
    if pre is None or metric not in pre:
        return None
    values = np.asarray(pre[metric], dtype=np.float64)
    return values[s.units]


def _cuped_pair(
    metric: str, a: UnitStats, b: UnitStats, pre: Mapping[str, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """CUPED-adjusted unit values of both arms and the variance reduction, or None when
    the metric has no pre-period covariate or the covariate is constant."""
    if metric not in CUPED_METRICS or a.n < 2 or b.n < 2:
        return None
    xa, xb = _pre_values(pre, metric, a), _pre_values(pre, metric, b)
    if xa is None or xb is None:
        return None
    x = np.concatenate([xa, xb])
    if x.var() <= 0:
        return None
    y = np.concatenate([unit_values(metric, a), unit_values(metric, b)])
    adjusted, _theta = cuped(y, x)
    before = float(y.var(ddof=1))
    reduction = 1 - float(adjusted.var(ddof=1)) / before if before > 0 else 0.0
    return adjusted[: a.n], adjusted[a.n :], reduction


def _relative_interval(seq: SequentialResult, control_value: float) -> tuple[float, float] | None:
    """The confidence sequence of ``b - a`` as a relative lift (divided by the control's value)."""
    if not control_value or not math.isfinite(control_value):
        return None
    return seq.ci_low / control_value, seq.ci_high / control_value


def analyse(
    *,
    arms: Sequence[ArmSpec],
    rows: UnitRows,
    primary_metric: str,
    guardrails: Sequence[str] = (),
    guardrail_tolerance: float = 0.0,
    latency_tolerance: float | None = None,
    alpha: float = 0.05,
    sequential: bool = True,
    tau2: Mapping[str, float] | None = None,
    required_n: int | None = None,
    pre: Mapping[str, np.ndarray] | None = None,
    p95_latency: Mapping[str, float] | None = None,
    buckets: int | None = None,
) -> Analysis:
    """Analyse an experiment: see the module docstring.

    ``tau2`` is the mSPRT mixture variance per metric (default: from the control's value);
    ``pre`` maps a metric to an array of pre-period values indexed by unit index;
    ``buckets`` is the number of time buckets to look at (default: all in ``rows``).
    With more than one treatment, each comparison uses α / (number of treatments)
    (Bonferroni), so that the chance of any false winner stays at α.
    """
    if primary_metric not in METRIC_LABELS:
        raise ValueError(f"unknown metric {primary_metric!r}")
    controls = [i for i, a in enumerate(arms) if a.is_control]
    if len(controls) != 1 or len(arms) < 2:
        raise ValueError("an experiment needs exactly one control and at least one other variant")
    c = controls[0]
    treatments = [i for i in range(len(arms)) if i != c]
    comparison_alpha = alpha / len(treatments)
    stats = [unit_stats(rows, i) for i in range(len(arms))]
    p95_latency = p95_latency or {}

    arm_results: list[ArmResult] = []
    for i, spec in enumerate(arms):
        s = stats[i]
        result = ArmResult(
            key=spec.key,
            label=spec.label or spec.key,
            share=spec.share,
            is_control=i == c,
            units=s.n,
            exposures=int(s.exposures.sum()),
            values={m: metric_value(m, s) for m in METRICS},
            p95_latency_ms=p95_latency.get(spec.key),
        )
        if i != c:
            result.comparisons = {
                m: compare_metric(m, stats[c], s, comparison_alpha) for m in METRICS
            }
        arm_results.append(result)

    observed = [s.n for s in stats]
    srm = (
        srm_check(observed, [a.share for a in arms])
        if sum(observed) > 0 and sum(a.share for a in arms) > 0
        else None
    )
    cuped_available = any(
        _cuped_pair(primary_metric, stats[c], stats[t], pre) is not None for t in treatments
    )

    n_buckets = buckets if buckets is not None else (int(rows.bucket.max()) + 1 if len(rows) else 0)
    higher = primary_metric not in LOWER_IS_BETTER
    label = METRIC_LABELS[primary_metric]
    results: list[TreatmentResult] = []
    for t in treatments:
        a, b = stats[c], stats[t]
        primary = arm_results[t].comparisons.get(primary_metric)
        pair = _cuped_pair(primary_metric, a, b, pre)
        cuped_cmp = welch_test_samples(pair[0], pair[1], comparison_alpha) if pair else None
        control_value = metric_value(primary_metric, a)
        scale = tau2.get(primary_metric) if tau2 else None
        if scale is None:
            scale = (
                (0.1 * control_value) ** 2
                if control_value and math.isfinite(control_value)
                else 0.0
            )
        scale = scale if scale > 0 else 1e-6

        # cumulative looks: the lift chart and the mSPRT path
        looks: list[Look] = []
        seq: SequentialResult | None = None
        for bucket in range(n_buckets):
            part = rows.upto(bucket)
            la, lb = unit_stats(part, c), unit_stats(part, t)
            cmp = compare_metric(primary_metric, la, lb, comparison_alpha)
            look_pair = _cuped_pair(primary_metric, la, lb, pre) if pair else None
            if sequential:
                adjusted = (look_pair[0], look_pair[1]) if look_pair else None
                seq = _sequential_step(
                    primary_metric, la, lb, scale, comparison_alpha, seq, adjusted
                )
            if cmp is None or not math.isfinite(cmp.rel_lift):
                continue
            if sequential and seq is not None:
                interval = _relative_interval(seq, metric_value(primary_metric, la)) or (
                    cmp.ci_low,
                    cmp.ci_high,
                )
                lift = (
                    seq.estimate / metric_value(primary_metric, la)
                    if metric_value(primary_metric, la)
                    else cmp.rel_lift
                )
            else:
                look_cmp = (
                    welch_test_samples(look_pair[0], look_pair[1], comparison_alpha)
                    if look_pair
                    else cmp
                )
                interval, lift = (look_cmp.ci_low, look_cmp.ci_high), look_cmp.rel_lift
            looks.append(Look(bucket, la.n, lb.n, lift, *interval))

        guards = []
        for g in guardrails:
            cmp = arm_results[t].comparisons.get(g)
            if cmp is not None:
                guards.append(
                    Guardrail(
                        METRIC_LABELS[g],
                        cmp,
                        higher_is_better=g not in LOWER_IS_BETTER,
                        max_relative_harm=latency_tolerance
                        if g == "latency" and latency_tolerance is not None
                        else guardrail_tolerance,
                    )
                )
        if primary is None:
            decision = Verdict(
                "not enough data",
                f"Not enough data yet: {min(a.n, b.n)} exposed units in the "
                "smaller variant. Keep the experiment running.",
            )
        else:
            kwargs = {
                "metric": label,
                "higher_is_better": higher,
                "guardrails": guards,
                "srm": srm,
                "required_n": None if sequential else required_n,
                "always_valid_p": seq.p_value if (sequential and seq is not None) else None,
                "always_valid_ci": (
                    (seq.ci_low, seq.ci_high) if (sequential and seq is not None) else None
                ),
            }
            decision = verdict(primary, **kwargs)
            if cuped_cmp is not None and decision.outcome != "not enough data":
                decision = verdict(cuped_cmp, **kwargs)
                if decision.outcome in ("winner", "loser", "no detectable difference"):
                    decision = Verdict(
                        decision.outcome,
                        decision.sentence.replace(f"{label} ", f"{label} (CUPED-adjusted) ", 1),
                    )
        results.append(
            TreatmentResult(
                key=arms[t].key,
                primary=primary,
                cuped=cuped_cmp,
                variance_reduction=pair[2] if pair else None,
                sequential=seq if sequential else None,
                sequential_lift_ci=_relative_interval(seq, control_value)
                if (sequential and seq)
                else None,
                guardrails=guards,
                verdict=decision,
                looks=looks,
            )
        )

    outcome, sentence, recommended = _overall(arms[c].key, results, srm)
    return Analysis(
        primary_metric=primary_metric,
        alpha=alpha,
        comparison_alpha=comparison_alpha,
        arms=arm_results,
        srm=srm,
        treatments=results,
        outcome=outcome,
        sentence=sentence,
        recommended=recommended,
        required_n=required_n,
        sequential=sequential,
        cuped_available=cuped_available,
    )


def _overall(
    control: str, results: list[TreatmentResult], srm: SRM | None
) -> tuple[str, str, str | None]:
    """One outcome for the experiment: (outcome, sentence, recommended variant key)."""
    if srm is not None and srm.mismatch:
        return (
            "guardrail breached",
            results[0].verdict.sentence if results else "Sample ratio mismatch.",
            None,
        )
    winners = [r for r in results if r.verdict.outcome == "winner"]
    if winners:

        def lift(r: TreatmentResult) -> float:
            cmp = r.cuped or r.primary
            return cmp.rel_lift if cmp is not None and math.isfinite(cmp.rel_lift) else -math.inf

        best = max(winners, key=lift)
        prefix = f"“{best.key}” wins. " if len(results) > 1 else ""
        return "winner", prefix + best.verdict.sentence, best.key
    for outcome in ("guardrail breached", "not enough data"):
        hit = [r for r in results if r.verdict.outcome == outcome]
        if hit:
            return (
                outcome,
                " ".join(
                    f"{r.key}: {r.verdict.sentence}" if len(results) > 1 else r.verdict.sentence
                    for r in hit
                ),
                None,
            )
    if results and all(r.verdict.outcome == "loser" for r in results):
        return "loser", " ".join(r.verdict.sentence for r in results), control
    return (
        "no detectable difference",
        " ".join(
            f"{r.key}: {r.verdict.sentence}" if len(results) > 1 else r.verdict.sentence
            for r in results
        ),
        None,
    )
