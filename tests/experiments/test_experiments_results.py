"""Results on the real database with planted effects (fixed seeds): a +20% click effect wins, an
A/A test does not, a skewed split is flagged as SRM, a breached guardrail stops a winner,
attribution by the one rule of the analytics (request id, else the session's latest request
within 30 minutes that showed the product), CUPED with pre-period data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Event, Shopper
from recommend.analytics.models import ServedRequest
from recommend.experiments import services
from recommend.experiments.logic.assignment import assign
from recommend.experiments.models import Exposure
from recommend.experiments.selectors import clear_running_cache, experiment_results
from recommend.experiments.services import VariantSpec
from recommend.models import Strategy
from tests.factories import ProductFactory, StrategyFactory

pytestmark = pytest.mark.django_db
START = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    clear_running_cache()
    yield
    clear_running_cache()


@pytest.fixture
def product(db):
    return ProductFactory(external_id="p-1", price=40)


def _experiment(operator, *, name="exp", primary="ctr", guardrails=(), sequential=True, **kwargs):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    other = StrategyFactory(name=f"{name}-b", surface="search")
    experiment = services.experiment_create(
        name=name,
        surface="search",
        hypothesis="h",
        primary_metric=primary,
        guardrails=list(guardrails),
        sequential=sequential,
        actor=operator,
        salt=f"salt-{name}",
        variants=[VariantSpec("control", base, 50, True), VariantSpec("treatment", other, 50)],
        **kwargs,
    )
    services.experiment_start(experiment=experiment, actor=operator)
    experiment.refresh_from_db()
    return experiment


def _traffic(
    experiment,
    product,
    *,
    units=3000,
    click=None,
    zero=None,
    purchase=None,
    seed=1,
    days=4,
    split=None,
    with_request_id=True,
    click_delay=timedelta(seconds=40),
    pre_purchase=None,
):
    """Exposures (with their served requests, showing ``product``) and events for ``units``
    shoppers, each browsing in one session: 1–3 searches over ``days`` days, each clicked with
    probability ``click[variant]`` (purchases per unit likewise). ``split`` overrides the
    experiment's 50/50 assignment (to plant a sample ratio mismatch)."""
    rng = random.Random(seed)
    click = click or {"control": 0.3, "treatment": 0.3}
    zero = zero or {"control": 0.0, "treatment": 0.0}
    variants = {v.key: v for v in experiment.variants.all()}
    shoppers = Shopper.objects.bulk_create(
        [Shopper(external_id=f"u{seed}-{i}") for i in range(units)]
    )
    exposures, served, events = [], [], []
    shares = [(k, s) for k, s in (split or {"control": 50, "treatment": 50}).items()]
    for shopper in shoppers:
        key = assign(experiment.salt, shopper.external_id, shares)
        bought_before = pre_purchase is not None and rng.random() < pre_purchase
        if bought_before:
            events.append(
                Event(
                    event_id=f"pre-{shopper.pk}",
                    shopper=shopper,
                    product=product,
                    type="purchase",
                    value=40,
                    timestamp=START - timedelta(days=3),
                )
            )
        # shoppers who bought before buy again more often: what CUPED exploits
        buys = purchase is not None and rng.random() < purchase[key] * (
            2.8 if bought_before else 0.2
        )
        for n in range(rng.randint(1, 3)):
            ts = START + timedelta(seconds=rng.uniform(0, days * 86400 - 3600))
            request_id = f"{seed}-{shopper.pk}-{n}"
            session = f"s{seed}-{shopper.pk}"
            latency_ms = rng.uniform(5, 25)  # drawn in this order: the seeds' figures hold
            result_count = 0 if rng.random() < zero[key] else 10
            served.append(
                ServedRequest(
                    request_id=request_id,
                    endpoint="search",
                    surface="search",
                    shopper=shopper,
                    session=session,
                    shown=[product.pk] if result_count else [],
                    result_count=result_count,
                    timestamp=ts,
                )
            )
            exposures.append(
                Exposure(
                    experiment=experiment,
                    variant=variants[key],
                    unit_type="shopper",
                    unit_id=shopper.external_id,
                    shopper=shopper,
                    session=session,
                    request_id=request_id,
                    timestamp=ts,
                    latency_ms=latency_ms,
                    result_count=result_count,
                )
            )
            if rng.random() < click[key]:
                events.append(
                    Event(
                        event_id=f"c-{request_id}",
                        shopper=shopper,
                        product=product,
                        type="click",
                        session=session,
                        request_id=request_id if with_request_id else "",
                        timestamp=ts + click_delay,
                    )
                )
            if buys and n == 0:
                events.append(
                    Event(
                        event_id=f"b-{request_id}",
                        shopper=shopper,
                        product=product,
                        type="purchase",
                        value=40,
                        session=session,
                        request_id=request_id,
                        timestamp=ts + timedelta(minutes=5),
                    )
                )
    ServedRequest.objects.bulk_create(served, batch_size=2000)
    Exposure.objects.bulk_create(exposures, batch_size=2000)
    Event.objects.bulk_create(events, batch_size=2000)


def test_planted_twenty_percent_click_effect_is_declared_the_winner(operator_user, product):
    experiment = _experiment(operator_user, guardrails=("zero_result_rate", "latency"))
    _traffic(experiment, product, click={"control": 0.25, "treatment": 0.30})
    results = experiment_results(experiment)
    analysis = results.analysis
    assert analysis.outcome == "winner" and analysis.recommended == "treatment", analysis.sentence
    treatment = analysis.treatments[0]
    assert (
        treatment.primary.ci_low < 0.20 < treatment.primary.ci_high
    )  # the planted lift is inside the CI
    assert treatment.primary.ci_low > 0 and treatment.sequential.p_value < 0.05
    assert not analysis.srm.mismatch and not any(g.breached for g in treatment.guardrails)
    control = analysis.control
    assert 0.23 < control.values["ctr"] < 0.27 and control.units > 1400
    assert (
        len(treatment.looks) == 4 and results.bucket_seconds == 86400
    )  # one cumulative look per day
    assert "<svg" in results.chart_svg and "treatment" in results.chart_svg
    assert results.recommended_variant_id == experiment.variants.get(key="treatment").pk


def test_a_a_experiment_declares_no_winner(operator_user, product):
    experiment = _experiment(
        operator_user, sequential=False, baseline_rate=0.3, minimum_detectable_effect=0.1
    )
    _traffic(experiment, product, units=3000, click={"control": 0.3, "treatment": 0.3}, seed=7)
    analysis = experiment_results(experiment).analysis
    assert analysis.outcome in ("no detectable difference", "not enough data"), analysis.sentence
    assert analysis.recommended is None
    assert analysis.treatments[0].primary.ci_low < 0 < analysis.treatments[0].primary.ci_high
    with pytest.raises(Exception, match="No winner to ship"):
        services.experiment_ship(experiment=experiment, actor=operator_user)


def test_skewed_assignment_is_flagged_as_sample_ratio_mismatch(operator_user, product):
    experiment = _experiment(operator_user)
    # a buggy assignment sends 56% of the units to the control although the plan says 50/50
    _traffic(
        experiment,
        product,
        units=3000,
        click={"control": 0.25, "treatment": 0.30},
        split={"control": 56, "treatment": 44},
        seed=3,
    )
    analysis = experiment_results(experiment).analysis
    assert analysis.srm.mismatch and analysis.srm.p_value < 0.001
    assert analysis.outcome == "guardrail breached" and analysis.recommended is None
    assert "Sample ratio mismatch" in analysis.sentence


def test_a_breached_guardrail_overrides_a_better_primary_metric(operator_user, product):
    experiment = _experiment(operator_user, guardrails=("zero_result_rate",))
    _traffic(
        experiment,
        product,
        click={"control": 0.25, "treatment": 0.30},
        zero={"control": 0.02, "treatment": 0.08},
        seed=5,
    )
    analysis = experiment_results(experiment).analysis
    assert analysis.outcome == "guardrail breached", analysis.sentence
    assert "zero-result rate" in analysis.sentence and analysis.recommended is None


def test_events_without_request_id_are_attributed_within_the_window(operator_user, product):
    experiment = _experiment(operator_user)
    _traffic(
        experiment,
        product,
        units=400,
        click={"control": 1.0, "treatment": 1.0},
        with_request_id=False,
        click_delay=timedelta(minutes=10),
        seed=11,
    )
    inside = experiment_results(experiment).analysis
    assert inside.control.values["ctr"] > 0.95  # every exposure got its click within 10 minutes

    services.experiment_stop(experiment=experiment, actor=operator_user)
    late = _experiment(operator_user, name="late")
    _traffic(
        late,
        product,
        units=400,
        click={"control": 1.0, "treatment": 1.0},
        with_request_id=False,
        click_delay=timedelta(minutes=45),
        seed=12,
    )
    outside = experiment_results(late).analysis
    # clicks 45 minutes later count only when another request of the session showed the product
    # in the 30 minutes before them
    assert outside.control.values["ctr"] < 0.2


def test_cuped_uses_pre_period_purchases_and_reduces_variance(operator_user, product):
    experiment = _experiment(
        operator_user,
        primary="conversion_rate",
        sequential=False,
        baseline_rate=0.2,
        minimum_detectable_effect=0.2,
        cuped_days=14,
    )
    _traffic(
        experiment,
        product,
        units=3000,
        purchase={"control": 0.2, "treatment": 0.2},
        pre_purchase=0.4,
        seed=21,
    )
    results = experiment_results(experiment)
    treatment = results.analysis.treatments[0]
    assert results.analysis.cuped_available and results.pre_period_units > 1000
    assert treatment.cuped is not None and treatment.variance_reduction > 0.2
    raw_width = treatment.primary.ci_high - treatment.primary.ci_low
    assert treatment.cuped.ci_high - treatment.cuped.ci_low < raw_width
