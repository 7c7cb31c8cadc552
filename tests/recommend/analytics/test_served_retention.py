"""Retention of the served log: served requests older than SERVED_REQUEST_RETENTION_DAYS are
deleted by a daily beat task (an experiment's stay with its exposures), the count is audited, the
rollups of pruned days are kept and never recomputed from what is left, and 0 keeps everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from catalog.models import Shopper
from platform_core.celery import app
from platform_core.models import AuditLog
from recommend.analytics import retention, rollups, tasks
from recommend.analytics.models import EventRollup, ServedRequest, TrafficRollup
from recommend.experiments.models import Experiment, Exposure, Variant
from recommend.models import Strategy
from tests.factories.catalog import EventFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def _served(request_id, at, product, session="s1"):
    return ServedRequest.objects.create(
        request_id=request_id,
        endpoint="search",
        surface="search",
        session=session,
        shown=[product.pk],
        result_count=1,
        latency_ms=10.0,
        timestamp=at,
    )


def _exposure(request_id, at):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()
    strategy = Strategy.objects.get(surface="search", is_default=True)
    experiment = Experiment.objects.create(name="kept", surface="search", hypothesis="h")
    variant = Variant.objects.create(
        experiment=experiment, key="control", strategy=strategy, share=100, is_control=True
    )
    Exposure.objects.create(
        experiment=experiment,
        variant=variant,
        unit_type="session",
        unit_id="s1",
        session="s1",
        request_id=request_id,
        timestamp=at,
    )


def test_old_served_requests_go_their_rollups_and_experiments_stay(settings):
    settings.SERVED_REQUEST_RETENTION_DAYS = 30
    settings.RETENTION_BATCH_SIZE = 2  # several batches
    product = ProductFactory(external_id="p1")
    old_day = NOW - 40 * DAY
    for n in range(5):
        _served(f"old-{n}", old_day + timedelta(minutes=n), product)
    _served("exposed", old_day + timedelta(minutes=10), product)
    _exposure("exposed", old_day + timedelta(minutes=10))
    _served("edge", NOW - 29 * DAY, product)
    _served("new", NOW - DAY, product)
    assert rollups.refresh(now=NOW, full=True).days >= 3
    old_rollup = TrafficRollup.objects.get(granularity="day", start=old_day.replace(hour=0))
    assert old_rollup.requests == 6

    result = retention.served_retention_apply(now=NOW)

    assert result.deleted == 5 and result.batches >= 3
    assert set(ServedRequest.objects.values_list("request_id", flat=True)) == {
        "exposed",
        "edge",
        "new",
    }
    entry = AuditLog.objects.get(action="served_requests.prune")
    assert entry.details["deleted"] == 5
    # a late event for the pruned day touches it: its rollups are not recomputed from what is left
    EventFactory(
        event_id="late",
        shopper=Shopper.objects.create(external_id="late"),
        product=product,
        type="view",
        timestamp=old_day + timedelta(hours=3),
    )
    rollups.refresh(now=NOW)
    rollups.refresh(now=NOW, full=True)
    old_rollup.refresh_from_db()
    assert old_rollup.requests == 6


def test_an_old_day_never_rolled_up_is_still_computed(settings):
    settings.SERVED_REQUEST_RETENTION_DAYS = 30
    product = ProductFactory(external_id="p1")
    imported = NOW - 200 * DAY  # history imported after the log's retention passed that day
    EventFactory(
        event_id="imported",
        shopper=Shopper.objects.create(external_id="imp"),
        product=product,
        type="view",
        timestamp=imported,
    )
    assert rollups.refresh(now=NOW).days == 2  # the imported day and today
    assert EventRollup.objects.get(granularity="day", start=imported.replace(hour=0)).count == 1


def test_zero_keeps_the_served_log_forever(settings):
    settings.SERVED_REQUEST_RETENTION_DAYS = 0
    _served("ancient", NOW - 4000 * DAY, ProductFactory(external_id="p1"))
    assert retention.served_retention_apply(now=NOW) is None
    assert tasks.served_retention() == 0
    assert ServedRequest.objects.filter(request_id="ancient").exists()


@pytest.mark.filterwarnings("ignore::celery.exceptions.CDeprecationWarning")
def test_beat_runs_the_purge_daily_on_the_cpu_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["analytics-served-retention"]
    assert entry["task"] == "recommend.analytics.tasks.served_retention"
    assert app.amqp.router.route({}, entry["task"])["queue"].name == "cpu"
    assert django_settings.SERVED_REQUEST_RETENTION_DAYS == 90  # bounded by default
