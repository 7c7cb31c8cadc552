"""The one Celery app. Queues: ``default`` (short tasks), ``cpu`` (imports, reports, CF),
``gpu`` (fine-tuning and embedding; run by a ``--pool solo`` worker that owns the device),
``flush`` (the Redis buffers' flushes and usage counters, on a small worker of their own so
that no long job can delay them)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")

app = Celery("aisle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("default"),
    Queue("cpu"),
    Queue("gpu"),
    Queue("flush"),
    Queue("profiles"),
)
app.autodiscover_tasks()
