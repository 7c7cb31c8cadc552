"""Experiment lifecycle through the services: validation, draft → running → stopped → shipped,
roles, the course gate, one running experiment per surface, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from platform_core.models import AuditLog
from recommend.experiments import services
from recommend.experiments.models import Experiment
from recommend.experiments.selectors import clear_running_cache
from recommend.experiments.services import VariantSpec
from recommend.models import Strategy
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    """Running experiments are cached per config generation; a rolled-back test must not
    leave its experiment in this process's cache for the next test."""
    clear_running_cache()
    yield
    clear_running_cache()


@pytest.fixture
def strategies(serving_state):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    tuned = StrategyFactory(name="semantic-heavy", surface="search", semantic_weight=2.0)
    return base, tuned


def _create(actor, strategies, name="exp", **kwargs):
    base, tuned = strategies
    variants = kwargs.pop("variants", None) or [
        VariantSpec("control", base, 50, True),
        VariantSpec("treatment", tuned, 50),
    ]
    return services.experiment_create(
        name=name,
        surface="search",
        hypothesis="Semantic weight helps.",
        variants=variants,
        actor=actor,
        **kwargs,
    )


def test_create_validates_shares_holdout_control_and_surface(operator_user, strategies):
    base, tuned = strategies
    with pytest.raises(
        ValidationError, match=r"sum to 100% \(now 95%: control 50 \+ treatment 40 \+ holdout 5\)"
    ):
        _create(
            operator_user,
            strategies,
            variants=[VariantSpec("control", base, 50, True), VariantSpec("treatment", tuned, 40)],
            holdout_percent=5,
        )
    with pytest.raises(ValidationError, match="exactly one variant as the control"):
        _create(
            operator_user,
            strategies,
            variants=[VariantSpec("a", base, 50), VariantSpec("b", tuned, 50)],
        )
    recs = Strategy.objects.get(surface="recommendations", is_default=True)
    with pytest.raises(ValidationError, match="of the recommendations surface"):
        _create(
            operator_user,
            strategies,
            variants=[VariantSpec("control", base, 50, True), VariantSpec("treatment", recs, 50)],
        )
    with pytest.raises(ValidationError, match="at least two variants"):
        _create(operator_user, strategies, variants=[VariantSpec("control", base, 100, True)])
    assert not Experiment.objects.exists()

    experiment = _create(
        operator_user,
        strategies,
        holdout_percent=10,
        variants=[VariantSpec("control", base, 45, True), VariantSpec("treatment", tuned, 45)],
        baseline_rate=0.3,
        minimum_detectable_effect=0.1,
    )
    assert experiment.status == "draft" and experiment.created_by == operator_user
    # the calculator: 0.30 → 0.33 at 80% power and α 5% needs 3,763 units per variant
    assert experiment.min_sample_size == 3763
    assert AuditLog.objects.filter(
        action="experiment.create", object_id=str(experiment.pk)
    ).exists()


def test_lifecycle_start_stop_ship_makes_the_winner_default(operator_user, strategies):
    base, tuned = strategies
    experiment = _create(operator_user, strategies)
    services.experiment_start(experiment=experiment, actor=operator_user)
    experiment.refresh_from_db()
    assert (
        experiment.status == "running"
        and experiment.salt
        and experiment.started_by == operator_user
    )
    with pytest.raises(ValidationError, match="Only a draft can be started"):
        services.experiment_start(experiment=experiment, actor=operator_user)

    services.experiment_stop(experiment=experiment, actor=operator_user)
    experiment.refresh_from_db()
    assert experiment.status == "stopped" and experiment.stopped_at is not None
    assert "No exposures yet" in experiment.conclusion

    # no exposures, so no declared winner: shipping needs an explicit choice
    with pytest.raises(ValidationError, match="No winner to ship"):
        services.experiment_ship(experiment=experiment, actor=operator_user)
    treatment = experiment.variants.get(key="treatment")
    services.experiment_ship(experiment=experiment, actor=operator_user, variant=treatment)
    experiment.refresh_from_db()
    assert experiment.status == "shipped" and experiment.winner == treatment
    tuned.refresh_from_db()
    base.refresh_from_db()
    assert tuned.is_default and not base.is_default
    assert Strategy.objects.filter(surface="search", is_default=True).count() == 1
    ship = AuditLog.objects.get(action="experiment.ship")
    assert ship.details["winner"] == "treatment" and ship.details["against_verdict"] is True
    actions = list(
        AuditLog.objects.filter(object_type="experiments.experiment")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "experiment.create",
        "experiment.start",
        "experiment.stop",
        "experiment.ship",
    ]


def test_two_running_experiments_on_one_surface_are_refused(operator_user, strategies):
    first = _create(operator_user, strategies, name="first")
    second = _create(operator_user, strategies, name="second")
    services.experiment_start(experiment=first, actor=operator_user)
    with pytest.raises(ValidationError) as caught:
        services.experiment_start(experiment=second, actor=operator_user)
    message = " ".join(caught.value.messages)
    assert (
        "“first” is already running on the search surface" in message and "stop it first" in message
    )
    second.refresh_from_db()
    assert second.status == "draft"
    # the database backs the rule even if a writer bypassed the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.filter(pk=second.pk).update(status="running")
    services.experiment_stop(experiment=first, actor=operator_user)
    services.experiment_start(experiment=second, actor=operator_user)
    assert Experiment.objects.get(pk=second.pk).status == "running"


def test_only_operators_start_stop_and_ship(operator_user, analyst_user, learner_user, strategies):
    experiment = _create(operator_user, strategies)
    for user in (analyst_user, learner_user, None):
        with pytest.raises(PermissionDenied, match="Only operators may start"):
            services.experiment_start(experiment=experiment, actor=user)
    services.experiment_start(experiment=experiment, actor=operator_user)
    with pytest.raises(PermissionDenied, match="Only operators may stop"):
        services.experiment_stop(experiment=experiment, actor=analyst_user)
    with pytest.raises(PermissionDenied, match="Only operators may ship"):
        services.experiment_ship(
            experiment=experiment, actor=analyst_user, variant=experiment.variants.first()
        )
    with pytest.raises(PermissionDenied):
        _create(analyst_user, strategies, name="by-analyst")
    assert Experiment.objects.get(pk=experiment.pk).status == "running"


def test_course_gate_applies_to_start_and_ship_but_never_to_stop(
    operator_user, strategies, settings
):
    from courses.gate import CourseGateError
    from courses.models import Certificate
    from tests.factories import CourseFactory

    course = CourseFactory(slug="data-and-experiments")
    settings.PROMOTION_REQUIRED_COURSE = course.slug
    experiment = _create(operator_user, strategies)
    with pytest.raises(CourseGateError, match="data-and-experiments"):
        services.experiment_start(experiment=experiment, actor=operator_user)

    Certificate.objects.create(
        user=operator_user,
        course=course,
        code="CERT1",
        learner_name="Oper",
        course_title=course.title,
    )
    services.experiment_start(experiment=experiment, actor=operator_user)
    Certificate.objects.filter(user=operator_user).delete()
    services.experiment_stop(experiment=experiment, actor=operator_user)  # stop: no gate
    with pytest.raises(CourseGateError):
        services.experiment_ship(
            experiment=experiment, actor=operator_user, variant=experiment.variants.first()
        )
    assert Experiment.objects.get(pk=experiment.pk).status == "stopped"


def test_only_drafts_are_deleted(operator_user, strategies):
    experiment = _create(operator_user, strategies)
    services.experiment_start(experiment=experiment, actor=operator_user)
    with pytest.raises(ValidationError, match="Only drafts can be deleted"):
        services.experiment_delete(experiment=experiment, actor=operator_user)
    draft = _create(operator_user, strategies, name="draft")
    services.experiment_delete(experiment=draft, actor=operator_user)
    assert not Experiment.objects.filter(pk=draft.pk).exists()


def test_academy_lab_check_refuses_a_shipped_experiment_without_traffic_or_a_winner(
    operator_user, strategies
):
    """Shipping is not the lab's bar: an experiment shipped with no traffic, against the
    (absent) verdict, on strategies the learner did not create, fails the A/B lab's check.
    The passing path, with the lab's traffic job, is in tests/courses/test_labs_with_real_jobs.py."""
    from django.utils import timezone

    from courses.labs import run_check

    lab_started = timezone.now()
    experiment = _create(operator_user, strategies)
    before = run_check("experiment_shipped_winner", user=operator_user, started_at=lab_started)
    assert not before.passed
    services.experiment_start(experiment=experiment, actor=operator_user)
    services.experiment_ship(
        experiment=experiment, actor=operator_user, variant=experiment.variants.get(key="treatment")
    )
    after = run_check("experiment_shipped_winner", user=operator_user, started_at=lab_started)
    failed = {label for label, ok, _ in after.items if not ok}
    assert failed == {
        "Each variant uses a strategy you created in the lab",
        "Both variants received simulated traffic",
        "The shipped variant is the winner the results declared",
    }
