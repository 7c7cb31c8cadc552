"""Alert rules evaluated by the beat task: raised once, emailed once, resolved when clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from platform_core import alerts, tasks
from platform_core.models import Alert, AlertRule, AuditLog
from tests.factories import JobFactory, SearchLogFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _alert_settings(settings, serving_state):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_MIN_SEARCHES = 50


def _searches(count: int, *, zero: int, minutes_ago: int = 10, latency_ms: float = 12.0):
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return [
        SearchLogFactory(
            query=f"q{i}",
            shopper=None,
            result_count=0 if i < zero else 10,
            latency_ms=latency_ms,
            timestamp=at,
        )
        for i in range(count)
    ]


def _active(rule: str):
    return Alert.objects.filter(
        rule__name=rule, status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED]
    )


def test_a_zero_result_spike_raises_one_alert_and_one_email_then_resolves():
    logs = _searches(80, zero=30)  # 37.5% found nothing, above the 10% default

    tasks.alerts_evaluate()
    alert = _active("search_zero_results").get()
    assert alert.status == Alert.Status.OPEN
    assert alert.value == pytest.approx(37.5)
    assert alert.threshold == 10.0
    assert "30 of 80 searches" in alert.message
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "Zero-result rate" in mail.outbox[0].subject
    alert.refresh_from_db()
    assert alert.emailed_at is not None

    tasks.alerts_evaluate()  # the spike goes on: the same alert, no second email
    assert Alert.objects.filter(rule__name="search_zero_results").count() == 1
    assert len(mail.outbox) == 1

    for log in logs[:30]:  # the queries were fixed: they find products now
        log.result_count = 4
        log.save()
    tasks.alerts_evaluate()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED and alert.resolved_at is not None
    assert alert.resolved_by is None
    assert len(mail.outbox) == 1


def test_a_quiet_hour_raises_nothing():
    _searches(10, zero=10)  # 100% but below ALERT_MIN_SEARCHES
    _searches(80, zero=80, minutes_ago=90)  # outside the hour
    report = alerts.alerts_evaluate()
    assert not _active("search_zero_results").exists()
    assert report.failed == []


def test_slow_searches_raise_the_latency_alert():
    _searches(60, zero=0, latency_ms=900.0)
    alerts.alerts_evaluate()
    alert = _active("search_latency_p95").get()
    assert alert.value == pytest.approx(900.0)
    assert not _active("search_zero_results").exists()


def test_a_failed_job_raises_an_alert_for_that_job():
    job = JobFactory(status="failed", error="Traceback …\nRuntimeError: CUDA out of memory")
    JobFactory(status="succeeded")
    JobFactory(status="failed", finished_at=datetime.now(UTC) - timedelta(days=3))  # too old

    alerts.alerts_evaluate()
    alert = _active("job_failed").get()
    assert alert.subject == f"job:{job.pk}"
    assert "CUDA out of memory" in alert.message
    assert len(mail.outbox) == 1


def test_the_threshold_and_the_switch_come_from_the_rule_row():
    _searches(80, zero=20)  # 25%
    alerts.rules_sync()
    AlertRule.objects.filter(name="search_zero_results").update(threshold=30)
    alerts.alerts_evaluate()
    assert not _active("search_zero_results").exists()

    AlertRule.objects.filter(name="search_zero_results").update(threshold=20, enabled=False)
    alerts.alerts_evaluate()
    assert not _active("search_zero_results").exists()

    AlertRule.objects.filter(name="search_zero_results").update(enabled=True)
    alerts.alerts_evaluate()
    assert _active("search_zero_results").get().threshold == 20


def test_acknowledge_and_resolve_by_hand_are_audited_and_resolve_holds_until_clear(
    operator_user,
):
    job = JobFactory(status="failed", error="boom")
    alerts.alerts_evaluate()
    alert = _active("job_failed").get()

    assert alerts.alert_acknowledge(alert=alert, actor=operator_user)
    alerts.alerts_evaluate()  # acknowledged stays active: refreshed, never a second row
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert alert.acknowledged_by == operator_user

    assert alerts.alert_resolve(alert=alert, actor=operator_user)
    alerts.alerts_evaluate()  # the job is still failed: not raised again, not emailed again
    assert not _active("job_failed").exists()
    assert len(mail.outbox) == 1
    actions = list(
        AuditLog.objects.filter(object_id=str(alert.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["alert.acknowledge", "alert.resolve"]

    job.status = "succeeded"  # retried fine: the condition clears ...
    job.save()
    alerts.alerts_evaluate()
    job.status = "failed"  # ... and when it fails again, that is news
    job.save()
    alerts.alerts_evaluate()
    assert _active("job_failed").count() == 1
    assert len(mail.outbox) == 2


def test_one_active_alert_per_rule_and_subject_is_a_constraint():
    from django.db import IntegrityError, transaction

    rule = alerts.rules_sync()["buffer_backlog"]
    now = datetime.now(UTC)
    fields = {"rule": rule, "subject": "buffer:x", "value": 1, "threshold": 0, "message": "m"}
    Alert.objects.create(**fields, first_seen_at=now, last_seen_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**fields, first_seen_at=now, last_seen_at=now)
    Alert.objects.create(**fields, first_seen_at=now, last_seen_at=now, status="resolved")


def test_a_broken_evaluator_does_not_stop_the_others(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("no database today")

    alerts.register_rule("test_broken", title="Broken", evaluate=broken, default_threshold=1)
    try:
        JobFactory(status="failed")
        report = alerts.alerts_evaluate()
    finally:
        alerts.RULES.pop("test_broken")
    assert [name for name, _ in report.failed] == ["test_broken"]
    assert _active("job_failed").exists()


def test_srm_in_a_running_experiment_raises_an_alert():
    from recommend.experiments.models import Assignment
    from tests.factories import ExperimentFactory, VariantFactory

    experiment = ExperimentFactory(status="running")
    control = VariantFactory(experiment=experiment, key="control", is_control=True, share=50)
    treatment = VariantFactory(experiment=experiment, key="treatment", share=50)
    now = datetime.now(UTC)
    Assignment.objects.bulk_create(
        Assignment(
            experiment=experiment,
            variant=control if i < 700 else treatment,
            unit_type="session",
            unit_id=f"s{i}",
            assigned_at=now,
        )
        for i in range(1000)
    )
    alerts.alerts_evaluate()
    alert = _active("experiment_srm").get()
    assert alert.subject == f"experiment:{experiment.name}"
    assert alert.value < 0.001
    assert "control 700, treatment 300" in alert.message


def test_the_recipients_are_the_setting_and_the_staff_with_the_permission(settings):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    settings.ALERT_EMAILS = ["ops@example.com"]
    oncall = UserFactory(username="oncall", email="oncall@example.com", role="operator")
    oncall.user_permissions.add(Permission.objects.get(codename="receive_alert_email"))
    UserFactory(username="quiet", email="quiet@example.com", role="operator")
    assert alerts.alert_recipients() == ["ops@example.com", "oncall@example.com"]


def test_the_admin_banner_shows_open_alerts_on_every_admin_page(client, operator_user):
    JobFactory(status="failed", error="boom")
    client.force_login(operator_user)
    assert "aisle-alert-banner" not in client.get("/admin/").content.decode()

    alerts.alerts_evaluate()
    for url in ("/admin/", "/admin/catalog/product/"):
        page = client.get(url).content.decode()
        assert "1 open alert" in page and "A training job failed" in page


def test_the_admin_lists_filter_search_and_acknowledge(client, operator_user):
    JobFactory(status="failed", error="boom")
    alerts.alerts_evaluate()
    alert = _active("job_failed").get()
    client.force_login(operator_user)
    assert client.get("/admin/platform_core/alert/?status__exact=open&q=job").status_code == 200
    assert client.get("/admin/platform_core/alertrule/?enabled__exact=1&q=zero").status_code == 200
    assert client.get(f"/admin/platform_core/alert/{alert.pk}/change/").status_code == 200
    response = client.post(
        "/admin/platform_core/alert/",
        {"action": "acknowledge", "_selected_action": [alert.pk]},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED

    rule = AlertRule.objects.get(name="search_zero_results")
    response = client.post(
        f"/admin/platform_core/alertrule/{rule.pk}/change/",
        {"threshold": "12.5", "enabled": "on"},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 12.5
    assert AuditLog.objects.filter(action="alert_rule.change", object_id=str(rule.pk)).exists()


def test_beat_evaluates_the_rules_every_minute_on_the_default_queue(settings):
    from datetime import timedelta as td

    from platform_core.celery import app

    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "platform_core.tasks.alerts_evaluate"
    )
    assert entry["schedule"] == td(seconds=60)
    route = app.amqp.router.route({}, "platform_core.tasks.alerts_evaluate")
    assert route["queue"].name == "default"
