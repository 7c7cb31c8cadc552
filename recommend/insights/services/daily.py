"""The insight jobs beat refreshes once a day (``INSIGHTS_DAILY_JOBS``, at
``INSIGHTS_DAILY_HOUR``): segments, churn risk and the demand forecast read a day of new
behaviour at a time, so the pages an operator opens in the morning show last night's figures
without anyone scheduling them. An operator's own schedule (Training → Job schedules) still
works beside them; a kind already queued or running is not queued again."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError

from catalog.models import Event

logger = logging.getLogger(__name__)


def daily_insights_launch() -> list[int]:
    """Queue each daily insight job that is not already queued or running; the ids queued.
    A store with no events yet gets none (each job would only fail for lack of data)."""
    from training import services

    if not Event.objects.exists():
        return []
    queued = []
    for kind in settings.INSIGHTS_DAILY_JOBS:
        try:
            job = services.job_launch_unless_open(kind)
        except ValidationError as exc:  # a mistyped kind in the setting: the others still run
            logger.error("daily insights: %s not queued: %s", kind, "; ".join(exc.messages))
            continue
        if job is not None:
            queued.append(job.pk)
    return queued
