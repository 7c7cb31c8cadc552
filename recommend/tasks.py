"""Periodic serving tasks (scheduled by beat in settings.CELERY_BEAT_SCHEDULE). Thin wrappers:
the work is in ``recommend.services``."""

from __future__ import annotations

from celery import shared_task


@shared_task(queue="default", acks_late=True, ignore_result=True)
def flush_exposures() -> int:
    """Write the search-log rows (and, with the Experiments issue, exposures) that serving
    queued in Redis. Every 10 s."""
    from recommend import experiment_services, services

    return services.searchlogs_flush() + experiment_services.exposures_flush()


@shared_task(queue="default", acks_late=True, ignore_result=True)
def refresh_trending() -> str:
    """Recompute trending, popularity, bought-together and popular queries, and rebuild the
    typo corrector when its vocabulary changed (so no request pays for that). Every 10 min."""
    from recommend import loaders, services

    stamp = services.aggregates_refresh().stamp
    loaders.spell_corrector()
    return stamp
