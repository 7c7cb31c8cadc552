"""Thin beat tasks: the rollups (``recommend.analytics.rollups``) and the served log's retention
(``recommend.analytics.retention``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(queue="default", acks_late=True, ignore_result=True)
def refresh_rollups() -> int:
    """Recompute the rollup days touched since the last run. Every minute (beat)."""
    from recommend.analytics import services

    return services.rollups_refresh().days


@shared_task(queue="cpu", acks_late=True, ignore_result=True)
def served_retention() -> int:
    """Delete served requests older than ``SERVED_REQUEST_RETENTION_DAYS``. Daily (beat)."""
    from recommend.analytics import retention

    result = retention.served_retention_apply()
    return 0 if result is None else result.deleted
