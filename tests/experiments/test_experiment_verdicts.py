"""The verdict cache: beat computes each running experiment's results (the results page's own
analysis) and stores the verdict and SRM check; drafts are left alone, an experiment with no
traffic gets its reason, one failing analysis does not stop the others, and the admin dashboard
shows the cached verdict."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from recommend.experiments import selectors, verdicts
from recommend.experiments.models import ExperimentVerdict
from recommend.experiments.tasks import refresh_verdicts
from tests.experiments.test_experiments_results import _traffic
from tests.factories import ExperimentFactory, ProductFactory, StrategyFactory

pytestmark = pytest.mark.django_db


def _experiment(operator, *, name: str, surface: str = "search"):
    """A running 50/50 experiment on ``surface`` (one may run per surface)."""
    from recommend.experiments import services
    from recommend.experiments.services import VariantSpec
    from recommend.models import Strategy
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()
    base = Strategy.objects.get(surface=surface, is_default=True)
    other = StrategyFactory(name=f"{name}-b", surface=surface)
    experiment = services.experiment_create(
        name=name,
        surface=surface,
        hypothesis="h",
        primary_metric="ctr",
        guardrails=[],
        actor=operator,
        salt=f"salt-{name}",
        variants=[VariantSpec("control", base, 50, True), VariantSpec("treatment", other, 50)],
    )
    services.experiment_start(experiment=experiment, actor=operator)
    experiment.refresh_from_db()
    return experiment


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    selectors.clear_running_cache()
    yield
    selectors.clear_running_cache()


def test_beat_caches_each_running_experiments_verdict_and_srm(operator_user, client):
    product = ProductFactory(external_id="p-1", price=40)
    skewed = _experiment(operator_user, name="skewed")
    _traffic(
        skewed,
        product,
        units=1500,
        click={"control": 0.25, "treatment": 0.30},
        split={"control": 60, "treatment": 40},
        seed=3,
    )
    quiet = _experiment(operator_user, name="quiet", surface="recommendations")
    draft = ExperimentFactory(name="draft")
    live = selectors.experiment_results(skewed).analysis

    assert refresh_verdicts() == 2  # the beat task: running experiments only

    cached = ExperimentVerdict.objects.get(experiment=skewed)
    assert cached.outcome == live.outcome == "guardrail breached"
    assert cached.sentence == live.sentence and "Sample ratio mismatch" in cached.sentence
    assert cached.srm_mismatch is True and cached.srm_p_value == pytest.approx(live.srm.p_value)
    assert cached.units == sum(a.units for a in live.arms) > 1400 and cached.error == ""
    assert cached.compute_ms > 0
    empty = ExperimentVerdict.objects.get(experiment=quiet)
    assert (
        empty.outcome == "" and empty.srm_mismatch is None and "No exposures yet" in empty.sentence
    )
    assert not ExperimentVerdict.objects.filter(experiment=draft).exists()

    # a later run replaces the row rather than adding one
    first = cached.computed_at
    verdicts.experiment_verdicts_refresh(now=timezone.now())
    assert ExperimentVerdict.objects.filter(experiment=skewed).count() == 1
    assert ExperimentVerdict.objects.get(experiment=skewed).computed_at > first

    # the dashboard reads the cached row
    client.force_login(operator_user)
    page = client.get("/admin/").content.decode()
    assert "skewed" in page and "sample ratio mismatch" in page and "No exposures yet" in page


def test_one_failing_analysis_does_not_stop_the_others(operator_user, monkeypatch):
    broken = _experiment(operator_user, name="broken")
    fine = _experiment(operator_user, name="fine", surface="similar")
    real = selectors.experiment_results

    def results(experiment):
        if experiment.pk == broken.pk:
            raise ValueError("exposures table unreadable")
        return real(experiment)

    monkeypatch.setattr(selectors, "experiment_results", results)
    assert verdicts.experiment_verdicts_refresh() == 2
    assert (
        "ValueError: exposures table unreadable"
        in ExperimentVerdict.objects.get(experiment=broken).error
    )
    assert ExperimentVerdict.objects.get(experiment=fine).error == ""


def test_beat_schedules_the_refresh_on_the_cpu_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["experiments-refresh-verdicts"]
    assert entry["task"] == refresh_verdicts.name == "recommend.experiments.tasks.refresh_verdicts"
    assert entry["schedule"].total_seconds() == settings.EXPERIMENT_VERDICT_MINUTES * 60
    from platform_core.celery import app

    assert app.amqp.router.route({}, refresh_verdicts.name)["queue"].name == "cpu"
