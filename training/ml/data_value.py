"""The statistics of the ``data_value`` job (plain Python + numpy, no Django): what leaving a data
source out of training costs on a frozen held-out split, and what more data would likely add.

- **Ablation**: the task's key metric per held-out unit (query list, shopper) with all sources
  and without one; ``paired_bootstrap`` resamples the units to put an interval on the mean
  change, and ``verdict`` reads it: "useful" when the lower bound is above zero, "no
  measurable value" when the interval contains zero, "harmful" when the upper bound is below.
- **Learning curve**: ``nested_samples`` takes 10/20/40/70/100 % of the training units so that
  each sample contains the smaller ones (one seeded permutation, cut at each size);
  ``learning_curve_fit`` fits a power law to the gap to a perfect score,
  ``1 - metric(n) = a * n ** -b``, by least squares in log-log space, and bootstraps the
  held-out units to say what doubling the data would likely add, with an interval.
- ``summary_sentences``: the report's plain-language summary, generated from those figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

CURVE_FRACTIONS: tuple[float, ...] = (0.1, 0.2, 0.4, 0.7, 1.0)
USEFUL = "useful"
NO_VALUE = "no measurable value"
HARMFUL = "harmful"
#: the smallest gap the fit takes the log of (a perfect score on every unit would be log 0)
MIN_GAP = 1e-4


@dataclass(frozen=True)
class Interval:
    """A mean paired change with its bootstrap interval."""

    mean: float
    low: float
    high: float
    units: int

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


def paired_bootstrap(
    with_source: Sequence[float],
    without_source: Sequence[float],
    *,
    samples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Mean of ``with_source - without_source`` over paired held-out units, with a percentile
    bootstrap interval (units resampled with replacement, ``samples`` times, seeded)."""
    a = np.asarray(with_source, dtype=np.float64)
    b = np.asarray(without_source, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores differ in length: {a.shape} vs {b.shape}")
    if not len(a):
        return Interval(0.0, 0.0, 0.0, 0)
    diff = a - b
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(samples, len(diff)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(diff.mean()), float(low), float(high), len(diff))


def verdict(interval: Interval) -> str:
    """ "useful" when the interval lies above zero, "harmful" below, else "no measurable value"."""
    if interval.low > 0:
        return USEFUL
    if interval.high < 0:
        return HARMFUL
    return NO_VALUE


def nested_samples(
    keys: Sequence[Hashable], fractions: Sequence[float] = CURVE_FRACTIONS, *, seed: int = 0
) -> dict[float, list[Hashable]]:
    """Nested samples of ``keys``: one seeded permutation cut at each fraction (at least one
    key each), so the 20 % sample contains the 10 % one, and so on."""
    order = sorted(keys, key=str)
    rng = np.random.default_rng(seed)
    permuted = [order[i] for i in rng.permutation(len(order))]
    return {f: permuted[: max(1, round(f * len(permuted)))] for f in fractions}


@dataclass(frozen=True)
class PowerLaw:
    """``metric(n) = 1 - a * n ** -b`` (``b > 0``: the gap to a perfect score shrinks with data)."""

    a: float
    b: float

    def predict(self, n: float) -> float:
        return 1.0 - self.a * float(n) ** -self.b


def fit_power_law(sizes: Sequence[float], scores: Sequence[float]) -> PowerLaw:
    """Least squares of ``log(1 - score) = log a - b log n`` over the curve's points."""
    x = np.log(np.asarray(sizes, dtype=np.float64))
    gaps = np.clip(1.0 - np.asarray(scores, dtype=np.float64), MIN_GAP, None)
    y = np.log(gaps)
    if len(x) < 2 or float(np.ptp(x)) == 0.0:
        return PowerLaw(a=float(np.exp(y.mean())) if len(y) else 1.0, b=0.0)
    slope, intercept = np.polyfit(x, y, 1)
    return PowerLaw(a=float(np.exp(intercept)), b=float(-slope))


def learning_curve_fit(
    sizes: Sequence[int],
    unit_scores: Sequence[Sequence[float]],
    *,
    samples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Fit the curve and project a doubling of the largest sample.

    ``unit_scores[j][i]``: the metric of held-out unit ``i`` for the model trained on
    ``sizes[j]`` units. The fit uses the means; its uncertainty comes from refitting on
    bootstrap resamples of the held-out units (the same resample for every size, as the units
    are paired across sizes). Returns the points, ``a``, ``b`` (with an interval), and
    ``doubling_gain`` = predicted metric at twice the largest size minus the fit's value there.
    """
    matrix = np.asarray(unit_scores, dtype=np.float64)  # sizes x units
    means = matrix.mean(axis=1)
    fit = fit_power_law(sizes, means)
    largest = float(max(sizes))

    def gain(law: PowerLaw) -> float:
        return law.predict(2 * largest) - law.predict(largest)

    rng = np.random.default_rng(seed)
    units = matrix.shape[1]
    gains, exponents = [], []
    for _ in range(samples if units > 1 else 0):
        pick = rng.integers(0, units, size=units)
        law = fit_power_law(sizes, matrix[:, pick].mean(axis=1))
        gains.append(gain(law))
        exponents.append(law.b)
    tail = (1.0 - level) / 2 * 100
    if gains:
        g_low, g_high = (float(v) for v in np.percentile(gains, [tail, 100 - tail]))
        b_low, b_high = (float(v) for v in np.percentile(exponents, [tail, 100 - tail]))
    else:
        g_low = g_high = gain(fit)
        b_low = b_high = fit.b
    return {
        "points": [
            {"size": int(n), "metric": round(float(m), 5)}
            for n, m in zip(sizes, means, strict=True)
        ],
        "a": round(fit.a, 6),
        "b": round(fit.b, 5),
        "b_interval": [round(b_low, 5), round(b_high, 5)],
        "doubling_gain": round(gain(fit), 5),
        "doubling_interval": [round(g_low, 5), round(g_high, 5)],
        "doubling_size": int(2 * largest),
        "held_out_units": units,
    }


def ablation_row(
    row: dict, full: Sequence[float], without: Sequence[float], *, samples: int, seed: int
) -> dict:
    """``row`` (a source's name, kind, rows left out) with the paired bootstrap of the per-unit
    change from ``full`` (every source) to ``without`` (the source left out) and its verdict."""
    interval = paired_bootstrap(full, without, samples=samples, seed=seed)
    return {
        **row,
        "change": round(interval.mean, 5),
        "low": round(interval.low, 5),
        "high": round(interval.high, 5),
        "metric_without": round(float(np.mean(without)), 5),
        "verdict": verdict(interval),
    }


def curve_and_report(
    samples: dict[float, list],
    full: Sequence[float],
    fit_sample: Callable[[list, str], Sequence[float]],
    *,
    what: str,
    units: int,
    ablation: list[dict],
    bootstrap: int,
    seed: int,
) -> dict:
    """The learning curve over nested ``samples`` (fraction → the training items it keeps; the
    100 % point reuses ``full``, the per-unit scores of the run on all data) and the report of
    an ablation run. ``fit_sample(items, label)`` retrains on the items and scores each unit."""
    learning = None
    if samples:
        unit_scores, counts = [], []
        for fraction, items in samples.items():
            counts.append(len(items))
            if fraction >= 1.0:
                unit_scores.append(full)
                continue
            unit_scores.append(fit_sample(items, f"{fraction:.0%} of the {what}"))
        learning = learning_curve_fit(counts, unit_scores, samples=min(bootstrap, 1000), seed=seed)
        for point, fraction in zip(learning["points"], samples, strict=True):
            point["fraction"] = fraction
    return {
        "baseline": round(float(np.mean(full)), 5),
        "units": units,
        "ablation": ablation,
        "curve": learning,
    }


def _fmt(value: float) -> str:
    return f"{value:+.3f}"


def summary_sentences(
    *, task: str, metric: str, baseline: float, ablation: Sequence[dict], curve: dict | None
) -> list[str]:
    """The report's plain-language summary, from the figures only.

    ``ablation`` rows carry ``title``, ``verdict``, ``change`` (the metric with the source minus
    without it), ``low``, ``high`` and ``skipped`` (a reason, when the source was not measured).
    """
    out = [f"With every source the {task} scores {metric} {baseline:.3f} on the held-out split."]
    measured = [r for r in ablation if not r.get("skipped")]
    ranked = sorted(measured, key=lambda r: -r["change"])
    useful = [r for r in ranked if r["verdict"] == USEFUL]
    if useful:
        top = useful[0]
        share = ""
        total = sum(r["change"] for r in useful)
        if len(useful) > 1 and total > 0:
            share = f" ({top['change'] / total:.0%} of the measurable value)"
        out.append(
            f"{top['title'].capitalize()} carry most of the value: leaving them out costs "
            f"{top['change']:.3f} {metric} (95 % interval {top['low']:.3f} to {top['high']:.3f})"
            f"{share}."
        )
        for r in useful[1:]:
            out.append(
                f"{r['title'].capitalize()} add {_fmt(r['change'])} {metric} "
                f"({r['low']:.3f} to {r['high']:.3f})."
            )
    else:
        out.append("No single source has a measurable value on its own on this split.")
    none = [r["title"] for r in ranked if r["verdict"] == NO_VALUE]
    if none:
        out.append(
            f"No measurable value from {', '.join(none)}: the interval of the change contains "
            "zero (the model is saturated without them, or they carry noise)."
        )
    for r in ranked:
        if r["verdict"] == HARMFUL:
            out.append(
                f"Leaving out {r['title']} improves {metric} by {-r['change']:.3f} "
                f"({-r['high']:.3f} to {-r['low']:.3f}): that data hurts the model."
            )
    for r in ablation:
        if r.get("skipped"):
            out.append(f"{r['title'].capitalize()} not measured: {r['skipped']}.")
    if curve:
        low, high = curve["doubling_interval"]
        if curve["b"] <= 0 or high <= 0.001:
            out.append(
                f"The learning curve is flat: doubling the data (to {curve['doubling_size']}) "
                f"would likely add little ({_fmt(curve['doubling_gain'])} {metric}, "
                f"{_fmt(low)} to {_fmt(high)})."
            )
        else:
            out.append(
                f"Doubling the training data (to {curve['doubling_size']}) would likely add "
                f"{_fmt(curve['doubling_gain'])} {metric} (95 % interval {_fmt(low)} to "
                f"{_fmt(high)}; power-law exponent {curve['b']:.2f})."
            )
    return out


def finite(value: float) -> float | None:
    """A JSON-safe number (None for NaN and infinities)."""
    return value if isinstance(value, int | float) and math.isfinite(value) else None
