"""Thin beat task: the rollups (``recommend.analytics.rollups``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(queue="default", acks_late=True, ignore_result=True)
def refresh_rollups() -> int:
    """Recompute the rollup days touched since the last run. Every minute (beat)."""
    from recommend.analytics import services

    return services.rollups_refresh().days
