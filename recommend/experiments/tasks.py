"""Periodic experiment tasks (scheduled by beat in ``settings.CELERY_BEAT_SCHEDULE``): thin
wrappers around ``recommend.experiments.verdicts``."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)  # queue: cpu (CELERY_TASK_ROUTES)
def refresh_verdicts() -> int:
    """Recompute and cache each running experiment's verdict and SRM check (every few minutes),
    so no page computes results in the request."""
    from recommend.experiments import verdicts

    return verdicts.experiment_verdicts_refresh()
