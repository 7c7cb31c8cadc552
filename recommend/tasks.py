"""Periodic serving tasks (scheduled by beat in settings.CELERY_BEAT_SCHEDULE). Thin wrappers:
the work is in ``recommend.services`` and ``platform_core.buffers``.

The buffer flushes run on the ``flush`` queue, and the profile refresh on ``profiles``, both served
by a worker of their own, so a long job on ``cpu`` can never delay them (a new event reaches the
shopper's profile within seconds); search logs and exposures are flushed by separate tasks, so a
problem in one never holds the other back.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(queue="flush", acks_late=True, ignore_result=True)
def flush_searchlogs() -> int:
    """Write the served searches queued in Redis. Every 5 s."""
    from recommend import services

    return services.searchlogs_flush()


@shared_task(queue="flush", acks_late=True, ignore_result=True)
def flush_exposures() -> int:
    """Write the experiment exposures queued in Redis. Every 5 s."""
    from recommend.experiments import services as experiment_services

    return experiment_services.exposures_flush()


@shared_task(queue="flush", acks_late=True, ignore_result=True)
def flush_served() -> int:
    """Write the served requests (every endpoint) queued in Redis. Every 5 s."""
    from recommend.analytics import services as analytics_services

    return analytics_services.served_flush()


@shared_task(queue="profiles", acks_late=True, ignore_result=True)
def refresh_profiles(*, shopper_ids: list[int] = (), external_ids: list[str] = ()) -> int:
    """Recompute the profiles of shoppers with new events: queued when their events commit
    (``catalog.signals.events_stored``), or by a request that found none stored."""
    from recommend import services

    return services.shopper_profiles_refresh(shopper_ids=shopper_ids, external_ids=external_ids)


@shared_task(queue="default", acks_late=True, ignore_result=True)
def refresh_trending() -> str:
    """Recompute trending, popularity, bought-together and popular queries, and rebuild the
    typo corrector when its vocabulary changed (so no request pays for that). Every 10 min."""
    from recommend import services
    from recommend.serving import loaders

    stamp = services.aggregates_refresh().stamp
    loaders.spell_corrector()
    return stamp
