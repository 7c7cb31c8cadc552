"""Catalog Celery tasks (thin wrappers; the work is in the services). Queue: ``cpu``."""

from celery import shared_task


@shared_task(name="catalog.tasks.retention_apply", queue="cpu", acks_late=True, ignore_result=True)
def retention_apply() -> dict:
    """Drop (or archive) events and search logs older than their retention (daily, beat)."""
    from catalog import retention

    return {kind: result.deleted for kind, result in retention.retention_apply().items()}
