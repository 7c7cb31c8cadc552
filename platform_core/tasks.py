"""Platform-wide Celery tasks (kept thin)."""

from celery import shared_task


@shared_task(name="platform_core.tasks.ping", queue="default")
def ping(value: str = "pong") -> dict:
    """A trivial task the readiness check and the worker test use to see a worker answer."""
    import os
    import socket

    return {"value": value, "host": socket.gethostname(), "pid": os.getpid()}
