"""Platform-wide Celery tasks (kept thin)."""

from celery import shared_task


@shared_task(name="platform_core.tasks.ping", queue="default")
def ping(value: str = "pong") -> dict:
    """A trivial task the readiness check and the worker test use to see a worker answer."""
    import os
    import socket

    return {"value": value, "host": socket.gethostname(), "pid": os.getpid()}


@shared_task(
    name="platform_core.tasks.buffers_reclaim", queue="flush", acks_late=True, ignore_result=True
)
def buffers_reclaim() -> dict:
    """Re-queue the rows of buffer claims whose flusher died (every minute)."""
    from platform_core import buffers

    return buffers.reclaim_stale()


@shared_task(
    name="platform_core.tasks.api_client_usage_flush",
    queue="flush",
    acks_late=True,
    ignore_result=True,
)
def api_client_usage_flush() -> int:
    """Write the API clients' request counts kept in Redis to their rows (every minute)."""
    from platform_core import services

    return services.api_client_usage_flush()


@shared_task(
    name="platform_core.tasks.alerts_evaluate", queue="default", acks_late=True, ignore_result=True
)
def alerts_evaluate() -> dict:
    """Evaluate the alert rules: raise, email, refresh and resolve alerts (every minute)."""
    from platform_core import alerts

    report = alerts.alerts_evaluate()
    return {
        "raised": len(report.raised),
        "refreshed": report.refreshed,
        "resolved": report.resolved,
        "failed": [name for name, _ in report.failed],
    }
