"""Retention: events and search logs older than the setting are deleted (or archived) in batches,
with the count in the audit log; the default keeps everything."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from catalog import retention, tasks
from catalog.models import Event, SearchLog
from platform_core.celery import app
from platform_core.models import AuditLog
from tests.factories import EventFactory, ProductFactory, SearchLogFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    """7 old views, 2 old clicks, 3 recent views; 4 old and 2 recent search logs."""
    now = timezone.now()
    shopper, product = ShopperFactory(external_id="s-1"), ProductFactory(external_id="p-1")
    old = [now - timedelta(days=40, minutes=n) for n in range(9)]
    for n, ts in enumerate(old):
        EventFactory(
            event_id=f"old-{n}",
            shopper=shopper,
            product=product,
            timestamp=ts,
            type="view" if n < 7 else "click",
            query="",
            session="sess-old",
        )
    EventFactory(
        event_id="edge",
        shopper=shopper,
        product=product,
        timestamp=now - timedelta(days=29, hours=23),
    )
    for n in range(2):
        EventFactory(
            event_id=f"new-{n}", shopper=shopper, product=product, timestamp=now - timedelta(days=1)
        )
    for n in range(4):
        SearchLogFactory(
            request_id=f"old-req-{n}", shopper=shopper, timestamp=now - timedelta(days=100 + n)
        )
    for n in range(2):
        SearchLogFactory(
            request_id=f"new-req-{n}", shopper=shopper, timestamp=now - timedelta(days=2)
        )
    return now


@pytest.fixture
def retain(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.EVENT_RETENTION_DAYS = 30
    settings.SEARCHLOG_RETENTION_DAYS = 90
    settings.RETENTION_ARCHIVE = False
    settings.RETENTION_BATCH_SIZE = 3
    return settings


def test_the_default_keeps_every_row(rows, settings):
    assert settings.EVENT_RETENTION_DAYS == 0 and settings.SEARCHLOG_RETENTION_DAYS == 0
    assert retention.retention_apply() == {}
    assert Event.objects.count() == 12 and SearchLog.objects.count() == 6
    assert not AuditLog.objects.filter(action__endswith=".prune").exists()


def test_old_rows_are_deleted_in_batches_and_counted_in_the_audit_log(rows, retain):
    results = retention.retention_apply()
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["edge", "new-0", "new-1"]
    assert sorted(SearchLog.objects.values_list("request_id", flat=True)) == [
        "new-req-0",
        "new-req-1",
    ]
    events = results["events"]
    assert events.deleted == 9 and events.archive == ""
    assert (
        events.batches == 4
    )  # views 3+3+1, clicks 2: never more than RETENTION_BATCH_SIZE at once
    assert results["search_logs"].deleted == 4 and results["search_logs"].batches == 2

    entry = AuditLog.objects.get(action="events.prune")
    assert entry.actor is None and entry.object_type == "catalog.event"
    assert entry.details["deleted"] == 9 and entry.details["days"] == 30
    assert AuditLog.objects.get(action="search_logs.prune").details["deleted"] == 4

    # a second run finds nothing more and says so
    again = retention.retention_apply()
    assert again["events"].deleted == 0 and again["events"].batches == 0
    assert Event.objects.count() == 3


def test_archive_mode_writes_importable_gzipped_json_lines_first(
    rows, retain, run_command, tmp_path
):
    retain.RETENTION_ARCHIVE = True
    before = sorted(
        Event.objects.filter(event_id__startswith="old-").values_list(
            "event_id", "type", "timestamp"
        )
    )
    results = retention.retention_apply()
    path = results["events"].archive
    assert path.startswith(str(tmp_path / "archive")) and path.endswith(".jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert sorted(line["event_id"] for line in lines) == [f"old-{n}" for n in range(9)]
    assert {line["shopper"] for line in lines} == {"s-1"} and {
        line["product"] for line in lines
    } == {"p-1"}
    assert not Event.objects.filter(event_id__startswith="old-").exists()

    with gzip.open(results["search_logs"].archive, "rt", encoding="utf-8") as handle:
        logs = [json.loads(line) for line in handle]
    assert sorted(line["request_id"] for line in logs) == [f"old-req-{n}" for n in range(4)]

    # gunzip + import_events brings the archived events back unchanged
    plain = tmp_path / "events.jsonl"
    plain.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert run_command("import_events", str(plain)).code == 0
    after = sorted(
        Event.objects.filter(event_id__startswith="old-").values_list(
            "event_id", "type", "timestamp"
        )
    )
    assert after == before


def test_a_run_does_nothing_while_another_holds_the_lock(rows, retain):
    other = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [retention.LOCK_KEY])
        assert retention.retention_apply() == {}
        assert Event.objects.count() == 12
        other.execute("SELECT pg_advisory_unlock(%s)", [retention.LOCK_KEY])
    finally:
        other.close()
    assert retention.retention_apply()["events"].deleted == 9


@pytest.mark.filterwarnings(
    "ignore::celery.exceptions.CDeprecationWarning"
)  # the router reads task.queue
def test_the_beat_task_runs_on_the_cpu_queue(rows, retain):
    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == tasks.retention_apply.name
    )
    assert entry["task"] in app.tasks
    assert app.amqp.router.route({}, tasks.retention_apply.name)["queue"].name == "cpu"
    assert tasks.retention_apply.apply().get() == {"events": 9, "search_logs": 4}
