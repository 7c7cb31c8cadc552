"""Scheduled retraining: when a schedule is due (pure, on times), launching through the beat task
and the normal launch service, never a second run while the last one is open, the admin."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from platform_core.models import AuditLog
from training import schedules, services, tasks
from training.models import Job, JobSchedule
from training.schedule_times import due_occurrence, latest_occurrence, next_occurrence

PARIS = ZoneInfo("Europe/Paris")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- when (pure)


def test_daily_occurrences_at_the_time_of_day():
    daily = {"frequency": "daily", "at": time(3, 0), "weekday": None, "tz": UTC}
    assert latest_occurrence(utc(2026, 3, 10, 3, 0), **daily) == utc(2026, 3, 10, 3, 0)
    assert latest_occurrence(utc(2026, 3, 10, 2, 59), **daily) == utc(2026, 3, 9, 3, 0)
    assert next_occurrence(utc(2026, 3, 10, 3, 0), **daily) == utc(2026, 3, 11, 3, 0)
    assert next_occurrence(utc(2026, 3, 10, 2, 0), **daily) == utc(2026, 3, 10, 3, 0)


def test_weekly_occurrences_on_the_weekday():
    monday = {"frequency": "weekly", "at": time(4, 30), "weekday": 0, "tz": UTC}
    wednesday = utc(2026, 3, 11, 12, 0)
    assert latest_occurrence(wednesday, **monday) == utc(2026, 3, 9, 4, 30)
    assert next_occurrence(wednesday, **monday) == utc(2026, 3, 16, 4, 30)
    assert latest_occurrence(utc(2026, 3, 9, 4, 0), **monday) == utc(2026, 3, 2, 4, 30)
    with pytest.raises(ValueError, match="weekday"):
        latest_occurrence(wednesday, frequency="weekly", at=time(1), weekday=None, tz=UTC)


def test_the_time_of_day_is_local_to_the_time_zone():
    paris = {"frequency": "daily", "at": time(3, 0), "weekday": None, "tz": PARIS}
    assert latest_occurrence(utc(2026, 3, 10, 2, 30), **paris) == utc(2026, 3, 10, 2, 0)
    assert latest_occurrence(utc(2026, 7, 10, 2, 30), **paris) == utc(2026, 7, 10, 1, 0)  # summer


def test_due_once_per_occurrence_after_creation_and_once_after_an_outage():
    daily = {"frequency": "daily", "at": time(3, 0), "weekday": None, "tz": UTC}
    created = utc(2026, 3, 10, 10, 0)
    assert due_occurrence(utc(2026, 3, 10, 12, 0), since=created, **daily) is None  # past time
    occurrence = due_occurrence(utc(2026, 3, 11, 3, 0, 40), since=created, **daily)
    assert occurrence == utc(2026, 3, 11, 3, 0)
    assert due_occurrence(utc(2026, 3, 11, 23, 0), since=occurrence, **daily) is None
    # beat down for three days: one launch, for the latest occurrence
    assert due_occurrence(utc(2026, 3, 14, 5, 0), since=occurrence, **daily) == utc(
        2026, 3, 14, 3, 0
    )


# --------------------------------------------------------------------------- launching


def _schedule(user, *, kind="train_cf", params=None, days_old=2, **fields) -> JobSchedule:
    schedule = schedules.schedule_save(
        schedule=JobSchedule(
            name=fields.pop("name", "nightly cf"),
            kind=kind,
            params=params if params is not None else {"factors": "4"},
            at=fields.pop("at", time(3, 0)),
            **fields,
        ),
        user=user,
    )
    JobSchedule.objects.filter(pk=schedule.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    schedule.refresh_from_db()
    return schedule


@pytest.mark.django_db
def test_schedules_are_checked_against_the_kind(operator_user):
    with pytest.raises(ValidationError) as caught:
        _schedule(operator_user, frequency="weekly", params={"factors": "lots", "wat": 1})
    errors = caught.value.message_dict
    assert "weekday" in errors["weekday"][0]
    assert any("factors: must be an integer" in e for e in errors["params"])
    assert any("wat: unknown parameter" in e for e in errors["params"])
    with pytest.raises(ValidationError, match="nothing to promote"):
        _schedule(operator_user, kind="embed_catalog", params={})
    with pytest.raises(ValidationError, match="Unknown job kind"):
        _schedule(operator_user, kind="nope", params={})
    schedule = _schedule(operator_user)
    assert schedule.params == {"factors": 4}  # converted, defaults not frozen in
    assert schedule.created_by == operator_user
    assert AuditLog.objects.filter(action="schedule.create", object_id=str(schedule.pk)).exists()


@pytest.mark.django_db
def test_the_beat_task_launches_a_due_schedule_through_the_launch_service(
    operator_user, django_capture_on_commit_callbacks
):
    schedule = _schedule(operator_user)
    with django_capture_on_commit_callbacks() as queued:
        launched = tasks.launch_due_schedules()
    job = Job.objects.get()
    assert launched == [job.pk] and len(queued) == 1  # sent to the worker on commit
    assert job.kind == "train_cf" and job.status == Job.Status.QUEUED
    assert job.params["factors"] == 4 and job.params["promote_if_better"] is True
    assert job.schedule == schedule and job.created_by == operator_user
    audit = AuditLog.objects.get(action="job.launch")
    assert audit.actor == operator_user and audit.details["schedule"] == schedule.pk
    schedule.refresh_from_db()
    assert schedule.last_job == job and schedule.last_due_at is not None
    assert tasks.launch_due_schedules() == []  # this occurrence is done

    # The next occurrence comes while the job is still queued: the schedule waits for it.
    tomorrow = timezone.now() + timedelta(days=1)
    assert schedules.schedules_launch_due(now=tomorrow) == []
    schedule.refresh_from_db()
    assert f"waiting for job #{job.pk}" in schedule.last_message
    assert Job.objects.count() == 1
    services.job_cancel(job=job, user=operator_user)
    (second,) = schedules.schedules_launch_due(now=tomorrow)
    assert Job.objects.get(pk=second).schedule == schedule
    assert list(schedule.jobs.order_by("pk").values_list("pk", flat=True)) == [job.pk, second]


@pytest.mark.django_db
def test_a_launch_the_service_refuses_is_recorded_once_not_retried_every_minute(
    operator_user, analyst_user
):
    schedule = _schedule(operator_user)
    JobSchedule.objects.filter(pk=schedule.pk).update(created_by=analyst_user)
    disabled = _schedule(operator_user, name="off", enabled=False)
    assert schedules.schedules_launch_due() == []
    assert schedules.schedules_launch_due() == []
    assert not Job.objects.exists()
    schedule.refresh_from_db()
    assert "training.add_job" in schedule.last_message and schedule.last_due_at is not None
    (refused,) = AuditLog.objects.filter(action="schedule.launch_refused")
    assert refused.object_id == str(schedule.pk)
    disabled.refresh_from_db()
    assert disabled.last_due_at is None


@pytest.mark.django_db
def test_a_re_enabled_schedule_waits_for_its_next_occurrence(operator_user):
    schedule = _schedule(operator_user, enabled=False)
    assert schedules.schedules_launch_due() == []
    schedule.enabled = True
    schedules.schedule_save(schedule=schedule, user=operator_user)
    assert schedules.schedules_launch_due() == []  # today's time passed while it was off
    assert len(schedules.schedules_launch_due(now=timezone.now() + timedelta(days=1))) == 1


@pytest.mark.django_db
def test_admin_lists_schedules_with_filters_creates_one_and_shows_its_history(
    client, operator_user
):
    client.force_login(operator_user)
    url = reverse("admin:training_jobschedule_add")
    response = client.post(
        url,
        {
            "name": "weekly ranker",
            "kind": "train_ranker",
            "params": '{"epochs": "5"}',
            "promote_if_better": "on",
            "frequency": "weekly",
            "weekday": "",
            "at": "04:30",
            "enabled": "on",
            "jobs-TOTAL_FORMS": "0",
            "jobs-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "weekly schedule needs a weekday" in response.text
    response = client.post(
        url,
        {
            "name": "weekly ranker",
            "kind": "train_ranker",
            "params": '{"epochs": "5"}',
            "promote_if_better": "on",
            "frequency": "weekly",
            "weekday": "6",
            "at": "04:30",
            "enabled": "on",
            "jobs-TOTAL_FORMS": "0",
            "jobs-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    schedule = JobSchedule.objects.get()
    assert schedule.params == {"epochs": 5} and schedule.created_by == operator_user
    assert AuditLog.objects.filter(action="schedule.create").count() == 1

    job = services.job_launch(kind="train_ranker", user=operator_user, schedule=schedule)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED, activation="promoted", activation_reason="better ndcg@10"
    )
    changelist = reverse("admin:training_jobschedule_changelist")
    page = client.get(changelist, {"q": "ranker", "kind": "train_ranker", "enabled__exact": "1"})
    assert page.status_code == 200 and "weekly, Sunday 04:30" in page.text
    page = client.get(reverse("admin:training_jobschedule_change", args=[schedule.pk]))
    assert page.status_code == 200
    assert f"#{job.pk} train_ranker" in page.text and "better ndcg@10" in page.text
    jobs_page = client.get(reverse("admin:training_job_changelist"), {"activation": "promoted"})
    assert jobs_page.status_code == 200 and f"/{job.pk}/change/" in jobs_page.text
