"""Beat queues ``score_reviews`` only when reviews wait past the watermark and none is open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.models import Event, EventType
from recommend.insights import tasks
from recommend.insights.models import SentimentState
from tests.factories import ProductFactory, ShopperFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db


def test_beat_queues_score_reviews_when_reviews_arrived(django_capture_on_commit_callbacks):
    assert tasks.score_reviews_incremental() is None  # no review yet
    event = Event.objects.create(
        event_id="beat-1",
        shopper=ShopperFactory(),
        product=ProductFactory(),
        type=EventType.REVIEW,
        value=1.0,
        review="It broke.",
        timestamp=datetime(2026, 10, 1, tzinfo=UTC),
    )
    with django_capture_on_commit_callbacks() as queued:
        job_id = tasks.score_reviews_incremental()
    job = Job.objects.get(pk=job_id)
    assert job.kind == "score_reviews" and job.queue == "cpu" and len(queued) == 1
    assert tasks.score_reviews_incremental() is None  # one is already queued
    services.job_cancel(job=job)
    SentimentState.objects.update_or_create(pk=1, defaults={"last_event_id": event.pk})
    assert tasks.score_reviews_incremental() is None  # nothing past the watermark
