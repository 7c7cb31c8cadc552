"""Beat refreshes segments, churn risk and the demand forecast every night without an operator
scheduling them: each kind queued once on the ``cpu`` queue, never twice while one is open,
none on a store without events, and a mistyped kind in the setting does not stop the others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from recommend.insights import tasks
from tests.factories import EventFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

DAILY = ["shopper_segments", "churn_risk", "forecast_demand"]


def test_beat_schedules_the_daily_insights_task():
    entry = settings.CELERY_BEAT_SCHEDULE["insights-daily"]
    assert entry["task"] == "recommend.insights.tasks.daily_insights"
    assert settings.INSIGHTS_DAILY_JOBS == DAILY


def test_daily_insights_queue_each_kind_once(django_capture_on_commit_callbacks):
    assert tasks.daily_insights() == []  # no events: nothing to compute
    EventFactory(type="view", timestamp=datetime(2026, 11, 30, tzinfo=UTC))
    with django_capture_on_commit_callbacks() as queued:
        ids = tasks.daily_insights()
    jobs = Job.objects.filter(pk__in=ids)
    assert sorted(j.kind for j in jobs) == sorted(DAILY) and len(queued) == 3
    assert {j.queue for j in jobs} == {"cpu"} and all(j.created_by_id is None for j in jobs)
    assert tasks.daily_insights() == []  # all three still queued: none queued again
    services.job_cancel(job=jobs.get(kind="churn_risk"))
    again = Job.objects.get(pk__in=tasks.daily_insights())
    assert again.kind == "churn_risk"


def test_a_mistyped_kind_does_not_stop_the_others(settings):
    settings.INSIGHTS_DAILY_JOBS = ["no_such_kind", "forecast_demand"]
    EventFactory(type="view", timestamp=datetime(2026, 11, 30, tzinfo=UTC))
    ids = tasks.daily_insights()
    assert [j.kind for j in Job.objects.filter(pk__in=ids)] == ["forecast_demand"]
