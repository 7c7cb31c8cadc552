"""make run's intent step: weak labels when the log has enough, else the labelled rules."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management.color import no_style

from catalog.models import EventType
from recommend.engine.intent_rules import RULES_BASE
from tests.factories.catalog import EventFactory, ShopperFactory
from training import bootstrap_intent, selectors
from training.models import ModelVersion, Task

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def test_a_fresh_store_serves_a_non_null_intent_from_the_labelled_rules(storefront, serving_store):
    assert selectors.active_version(Task.INTENT) is None
    out = io.StringIO()
    version = bootstrap_intent.run(stdout=out, style=no_style())

    assert version.is_active and version.base == RULES_BASE and not version.artifact_dir
    assert "rules, because only 0 weakly labelled training queries" in out.getvalue()
    assert "only 0 weakly labelled" in version.metrics["fallback_reason"]
    # a second run is a no-op: the intent version stays the one made active
    assert bootstrap_intent.run(stdout=io.StringIO(), style=no_style()) is None
    assert ModelVersion.objects.filter(task=Task.INTENT).count() == 1

    body = storefront.get("/api/v1/search", {"q": "cheap running shoes"}).json()
    assert body["intent"]["label"] == "buy"
    assert body["intent"]["source"] == "rules"
    assert body["intent"]["version"] == version.pk
    assert "“cheap”" in body["intent"]["reason"]
    plain = storefront.get("/api/v1/search", {"q": "running shoes"}).json()
    assert plain["intent"]["label"] == "browse" and plain["intent"]["source"] == "rules"


def _weak_label_log():
    shopper = ShopperFactory()
    for n in range(12):
        session = f"s{n}"
        EventFactory(
            shopper=shopper,
            product=None,
            type=EventType.SEARCH,
            query=f"query number {n}",
            session=session,
            timestamp=T0 + timedelta(hours=n),
        )
        EventFactory(
            shopper=shopper,
            type=EventType.PURCHASE if n % 2 else EventType.VIEW,
            session=session,
            timestamp=T0 + timedelta(hours=n, minutes=1),
        )


def test_the_plan_trains_only_when_the_log_has_enough_weak_labels_of_two_kinds(settings):
    settings.INTENT_BOOTSTRAP_MIN_EXAMPLES = 5
    _weak_label_log()
    plan = bootstrap_intent.plan()
    assert plan.action == "train", plan
    assert plan.label_counts == {"buy": 6, "browse": 6}

    settings.INTENT_BOOTSTRAP_MIN_EXAMPLES = 50
    assert bootstrap_intent.plan().action == "rules"
    settings.INTENT_BOOTSTRAP_MIN_EXAMPLES = 5
    settings.INTENT_BOOTSTRAP_TRAIN = False
    assert "INTENT_BOOTSTRAP_TRAIN" in bootstrap_intent.plan().reason


@pytest.mark.parametrize("gate", ["", "data-and-experiments"])
def test_make_run_queues_the_weak_label_classifier_and_serves_the_rules_meanwhile(settings, gate):
    """The classifier is a queued job, never a wait inside make run; with the Academy's
    promotion gate on, a launcher-less job may not promote itself (the gate would refuse the
    launch and stop make run), so it only trains."""
    from training.models import Job

    settings.INTENT_BOOTSTRAP_MIN_EXAMPLES = 5
    settings.PROMOTION_REQUIRED_COURSE = gate
    _weak_label_log()
    out = io.StringIO()
    version = bootstrap_intent.run(stdout=out, style=no_style())
    assert version.is_active and version.base == RULES_BASE
    job = Job.objects.get(kind="finetune_classifier")
    assert job.status == Job.Status.QUEUED and job.params["task"] == "intent"
    assert job.params["promote_if_better"] is (not gate)
    assert f"job #{job.pk} queued" in out.getvalue()
