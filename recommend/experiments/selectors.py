"""Reads for A/B experiments: the running experiment per surface (served from a process cache),
a unit's variant, and an experiment's results.

Serving calls :func:`variant_for` on every request of an experiment surface: it costs no query
(the running experiments are cached per config generation, which every start / stop / ship
bumps) and the variant is a hash of (salt, unit), so it is sticky without reading anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection

from platform_core.caches import GenerationalValue
from recommend.analytics.attribution_sql import ENGAGEMENT_TYPES_SQL, attributed_events_sql
from recommend.analytics.logic.attribution import WINDOW
from recommend.experiments.logic import analysis
from recommend.experiments.logic.assignment import assign
from recommend.experiments.logic.chart import LiftSeries, lift_chart_svg
from recommend.experiments.logic.stats import sample_size
from recommend.serving.cache import generations

# --------------------------------------------------------------------------- running experiments


@dataclass(frozen=True)
class RunningVariant:
    id: int
    key: str
    share: float
    strategy_id: int


@dataclass(frozen=True)
class RunningExperiment:
    """A running experiment as plain values (shared between threads and requests)."""

    id: int
    name: str
    surface: str
    salt: str
    holdout_percent: float
    variants: tuple[RunningVariant, ...]

    def assign(self, unit_id: str) -> RunningVariant | None:
        """The unit's variant, or None in the holdout: a pure function of (salt, unit)."""
        key = assign(
            self.salt, unit_id, [(v.key, v.share) for v in self.variants], self.holdout_percent
        )
        return None if key is None else next(v for v in self.variants if v.key == key)

    def variant(self, key: str) -> RunningVariant | None:
        return next((v for v in self.variants if v.key == key), None)


_running_cache = GenerationalValue("experiments.running")


def _load_running() -> dict[str, RunningExperiment]:
    from recommend.experiments.models import Experiment

    running: dict[str, RunningExperiment] = {}
    for exp in Experiment.objects.filter(status=Experiment.Status.RUNNING).prefetch_related(
        "variants"
    ):
        variants = tuple(
            RunningVariant(id=v.pk, key=v.key, share=v.share, strategy_id=v.strategy_id)
            for v in sorted(exp.variants.all(), key=lambda v: (not v.is_control, v.pk))
        )
        if exp.salt and variants:
            running[exp.surface] = RunningExperiment(
                id=exp.pk,
                name=exp.name,
                surface=exp.surface,
                salt=exp.salt,
                holdout_percent=exp.holdout_percent,
                variants=variants,
            )
    return running


def running_experiments(config_generation: int | None = None) -> dict[str, RunningExperiment]:
    """``{surface: running experiment}`` of the current config generation."""
    if config_generation is None:
        config_generation = generations()[1]
    return _running_cache.get(config_generation, _load_running)


def clear_running_cache() -> None:
    _running_cache.clear()


@dataclass(frozen=True)
class UnitAssignment:
    experiment: RunningExperiment
    variant: RunningVariant
    unit_type: str
    unit_id: str


def experiment_unit(
    shopper, session: str, *, external_id: str | None = None
) -> tuple[str, str] | None:
    """``(unit_type, unit_id)``: the shopper's external id, else the session, else None.

    ``external_id`` is the id the storefront sent, known to the database or not: a shopper whose
    first request comes before their first event is assigned by that id, so they keep their
    variant once their events make them known (assigning them by session would move them)."""
    external_id = external_id or getattr(shopper, "external_id", None)
    if external_id:
        return "shopper", str(external_id)
    if session:
        return "session", str(session)
    return None


def variant_for(
    surface: str,
    shopper,
    session: str,
    *,
    config_generation: int | None = None,
    external_id: str | None = None,
) -> UnitAssignment | None:
    """The running experiment's variant for this shopper (or anonymous session) on ``surface``;
    None when nothing runs there, the unit is in the holdout, or there is no unit at all."""
    experiment = running_experiments(config_generation).get(surface)
    if experiment is None:
        return None
    unit = experiment_unit(shopper, session, external_id=external_id)
    if unit is None:
        return None
    variant = experiment.assign(unit[1] if unit[0] == "shopper" else f"session:{unit[1]}")
    if variant is None:
        return None
    return UnitAssignment(
        experiment=experiment, variant=variant, unit_type=unit[0], unit_id=unit[1]
    )


# --------------------------------------------------------------------------- calculator


def sample_size_or_none(
    baseline_rate: float | None, mde: float | None, power: float = 0.8, alpha: float = 0.05
) -> int | None:
    """Units per variant for the calculator, or None when the inputs are out of range."""
    try:
        return sample_size(float(baseline_rate), float(mde), power=float(power), alpha=float(alpha))
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- results


@dataclass
class ExperimentResults:
    """What the results page shows."""

    experiment: Any
    analysis: analysis.Analysis | None
    bucket_labels: list[str]
    bucket_seconds: int
    chart_svg: str
    exposures: int
    units: int
    first_exposure: datetime | None
    last_exposure: datetime | None
    pre_period_units: int
    variant_ids: dict[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def recommended_variant_id(self) -> int | None:
        if self.analysis is None or self.analysis.recommended is None:
            return None
        return self.variant_ids.get(self.analysis.recommended)


#: Each exposure's attributed events, per unit and bucket. An event counts for an exposure when
#: the one attribution rule (``recommend.analytics.attribution_sql``) gives it the exposure's
#: served request. Only events that can reach one are attributed: those carrying an exposure's
#: request id (rule 1) and those of an exposed session from the first exposure to 30 minutes
#: after the last (rule 2) — two semi-joins, so the planner hashes the experiment's request ids
#: and sessions instead of probing them per event. Each attributed event meets its exposure in
#: one grouping by request id (no join whose plan hangs on row estimates: tables just written,
#: not analysed yet, once made the attribution run again per exposure).
_ATTRIBUTED_SQL = f"""
WITH exposed AS MATERIALIZED (
    SELECT request_id, session FROM recommend_exposure WHERE experiment_id = %(exp)s
),
candidates AS MATERIALIZED (
    SELECT e.id, e.type, e.product_id, e.timestamp, e.value, e.session, e.request_id,
           e.shopper_id
      FROM catalog_event e
     WHERE e.type IN {ENGAGEMENT_TYPES_SQL} AND e.request_id <> ''
       AND e.request_id IN (SELECT request_id FROM exposed)
    UNION
    SELECT e.id, e.type, e.product_id, e.timestamp, e.value, e.session, e.request_id,
           e.shopper_id
      FROM catalog_event e
     WHERE e.type IN {ENGAGEMENT_TYPES_SQL} AND e.session <> ''
       AND e.timestamp >= %(first)s AND e.timestamp <= %(end)s
       AND e.session IN (SELECT session FROM exposed WHERE session <> '')
),
att AS ({attributed_events_sql(events="candidates", recorded=False)}),
per_exposure AS (
    SELECT max(variant_id) AS variant_id, max(unit_type) AS unit_type, max(unit_id) AS unit_id,
           max(shopper_id) AS shopper_id, max(timestamp) AS timestamp,
           max(result_count) AS result_count, max(latency_ms) AS latency_ms,
           sum(clicks) AS clicks, sum(carts) AS carts, sum(purchases) AS purchases,
           sum(revenue) AS revenue
      FROM (
        SELECT x.request_id, x.variant_id, x.unit_type, x.unit_id, x.shopper_id, x.timestamp,
               x.result_count, x.latency_ms, 0 AS clicks, 0 AS carts, 0 AS purchases,
               0 AS revenue
          FROM recommend_exposure x WHERE x.experiment_id = %(exp)s
        UNION ALL
        SELECT request_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, (type = 'click')::int,
               (type = 'add_to_cart')::int, (type = 'purchase')::int,
               CASE WHEN type = 'purchase' THEN coalesce(value, 0) ELSE 0 END
          FROM att WHERE kind = 'served'
      ) rows
     GROUP BY request_id
    HAVING max(variant_id) IS NOT NULL
)
SELECT variant_id, unit_type, unit_id, min(shopper_id),
       floor(extract(epoch FROM timestamp - %(start)s) / %(bucket)s)::int AS bucket,
       count(*), count(*) FILTER (WHERE clicks > 0), count(*) FILTER (WHERE result_count = 0),
       sum(carts), sum(purchases), sum(revenue), sum(latency_ms)
  FROM per_exposure
 GROUP BY variant_id, unit_type, unit_id, bucket
"""

_PRE_PERIOD_SQL = """
SELECT e.shopper_id,
       count(*) FILTER (WHERE e.type = 'add_to_cart'),
       count(*) FILTER (WHERE e.type = 'purchase'),
       coalesce(sum(e.value) FILTER (WHERE e.type = 'purchase'), 0)
  FROM catalog_event e
 WHERE e.shopper_id = ANY(%(shoppers)s) AND e.type IN ('add_to_cart', 'purchase')
   AND e.timestamp >= %(from)s AND e.timestamp < %(to)s
 GROUP BY e.shopper_id
"""


def _bucket_seconds(span: timedelta) -> int:
    """Hourly looks for short experiments, daily for most, weekly for long ones."""
    if span <= timedelta(days=2):
        return 3600
    if span <= timedelta(days=90):
        return 86400
    return 7 * 86400


def _bucket_label(start: datetime, index: int, seconds: int) -> str:
    moment = start + timedelta(seconds=seconds * (index + 1))
    return moment.strftime("%d %b %H:%M") if seconds < 86400 else moment.strftime("%d %b")


def experiment_results(experiment, *, segment: str = "") -> ExperimentResults:
    """Metrics per variant, comparisons, SRM, guardrails, CUPED, mSPRT, chart and verdict.

    Events count for an exposure when the one attribution rule gives them its served request:
    the request id they carry, else the same session's latest request within 30 minutes that
    showed their product (``docs/analytics.md``, "Attribution"). ``segment`` keeps the units
    whose shopper was in that segment at first assignment (frozen on the assignment, so the
    treatment cannot move a unit between segments).
    """
    from recommend.experiments.models import Exposure

    variants = list(experiment.variants.select_related("strategy").order_by("-is_control", "pk"))
    span = Exposure.objects.filter(experiment=experiment).values_list("timestamp", flat=True)
    first = span.order_by("timestamp").first()
    last = span.order_by("-timestamp").first()
    variant_ids = {v.key: v.pk for v in variants}
    empty = ExperimentResults(
        experiment=experiment,
        analysis=None,
        bucket_labels=[],
        bucket_seconds=86400,
        chart_svg=lift_chart_svg([], []),
        exposures=0,
        units=0,
        first_exposure=first,
        last_exposure=last,
        pre_period_units=0,
        variant_ids=variant_ids,
    )
    if len(variants) < 2 or not any(v.is_control for v in variants):
        empty.message = "The experiment needs a control and at least one other variant."
        return empty
    if first is None:
        empty.message = (
            "No exposures yet: results appear once shoppers are served by the running experiment."
        )
        return empty

    seconds = _bucket_seconds(last - first)
    start = datetime.fromtimestamp(
        math.floor(first.timestamp() / seconds) * seconds, tz=first.tzinfo
    )
    params = {
        "exp": experiment.pk,
        "first": first,
        "start": start,
        "end": last + WINDOW,
        "bucket": seconds,
    }
    with connection.cursor() as cursor:
        cursor.execute(_ATTRIBUTED_SQL, params)
        raw = cursor.fetchall()
        cursor.execute(
            "SELECT variant_id, percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            "FROM recommend_exposure WHERE experiment_id = %s GROUP BY variant_id",
            [experiment.pk],
        )
        p95_by_id = dict(cursor.fetchall())

    if segment:
        raw = _in_segment(experiment, raw, segment)
    arm_index = {v.pk: i for i, v in enumerate(variants)}
    unit_index: dict[tuple[str, str], int] = {}
    unit_shopper: list[int | None] = []
    records = []
    for variant_id, unit_type, unit_id, shopper_id, bucket, *numbers in raw:
        if variant_id not in arm_index:
            continue
        key = (unit_type, unit_id)
        if key not in unit_index:
            unit_index[key] = len(unit_index)
            unit_shopper.append(shopper_id)
        records.append(
            (arm_index[variant_id], unit_index[key], bucket, *[float(n) for n in numbers])
        )
    rows = analysis.UnitRows.from_records(records)

    pre, pre_units = _pre_period(experiment, unit_shopper, first)
    tau2 = None
    if experiment.primary_metric in ("ctr", "add_to_cart_rate", "conversion_rate"):
        tau2 = {
            experiment.primary_metric: (
                experiment.baseline_rate * experiment.minimum_detectable_effect
            )
            ** 2
        }
    buckets = int(rows.bucket.max()) + 1 if len(rows) else 0
    result = analysis.analyse(
        arms=[
            analysis.ArmSpec(
                key=v.key, share=v.share, is_control=v.is_control, label=v.strategy.name
            )
            for v in variants
        ],
        rows=rows,
        primary_metric=experiment.primary_metric,
        guardrails=list(experiment.guardrails or []),
        guardrail_tolerance=experiment.guardrail_tolerance,
        latency_tolerance=experiment.latency_tolerance,
        alpha=experiment.alpha,
        sequential=experiment.sequential,
        tau2=tau2,
        required_n=experiment.min_sample_size or None,
        pre=pre,
        p95_latency={v.key: p95_by_id.get(v.pk) for v in variants},
        buckets=buckets,
    )
    labels = [_bucket_label(start, i, seconds) for i in range(buckets)]
    chart = lift_chart_svg(
        [
            LiftSeries(
                name=t.key,
                points=[(look.bucket, look.lift, look.ci_low, look.ci_high) for look in t.looks],
            )
            for t in result.treatments
        ],
        labels,
        title=f"Cumulative lift of {analysis.METRIC_LABELS[experiment.primary_metric]} over the control"
        + (" (always-valid confidence sequence)" if experiment.sequential else " (95% CI)"),
    )
    return ExperimentResults(
        experiment=experiment,
        analysis=result,
        bucket_labels=labels,
        bucket_seconds=seconds,
        chart_svg=chart,
        exposures=sum(a.exposures for a in result.arms),
        units=sum(a.units for a in result.arms),
        first_exposure=first,
        last_exposure=last,
        pre_period_units=pre_units,
        variant_ids=variant_ids,
    )


def experiment_segments(experiment) -> list[str]:
    """The segments the experiment's units were in at first assignment (the results filter)."""
    from recommend.experiments.models import Assignment

    return list(
        Assignment.objects.filter(experiment=experiment)
        .exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def _in_segment(experiment, raw: list[tuple], segment: str) -> list[tuple]:
    """The attributed rows of the units assigned while their shopper was in ``segment``."""
    from recommend.experiments.models import Assignment

    units = set(
        Assignment.objects.filter(experiment=experiment, segment=segment).values_list(
            "unit_type", "unit_id"
        )
    )
    return [row for row in raw if (row[1], row[2]) in units]


def _pre_period(
    experiment, unit_shopper: list[int | None], first: datetime
) -> tuple[dict[str, np.ndarray] | None, int]:
    """Each unit's add-to-cart count, purchase count and revenue in the ``cuped_days`` before
    the experiment's first exposure (0 for anonymous units and shoppers without history)."""
    if not experiment.cuped_days or not unit_shopper:
        return None, 0
    shoppers = sorted({s for s in unit_shopper if s is not None})
    if not shoppers:
        return None, 0
    with connection.cursor() as cursor:
        cursor.execute(
            _PRE_PERIOD_SQL,
            {
                "shoppers": shoppers,
                "from": first - timedelta(days=experiment.cuped_days),
                "to": first,
            },
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    if not found:
        return None, 0
    carts = np.zeros(len(unit_shopper))
    purchases = np.zeros(len(unit_shopper))
    revenue = np.zeros(len(unit_shopper))
    for i, shopper_id in enumerate(unit_shopper):
        values = found.get(shopper_id)
        if values is not None:
            carts[i], purchases[i], revenue[i] = (
                float(values[0]),
                float(values[1]),
                float(values[2]),
            )
    return {
        "add_to_cart_rate": carts,
        "conversion_rate": purchases,
        "revenue_per_shopper": revenue,
    }, len(found)
