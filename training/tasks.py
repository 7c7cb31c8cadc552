"""Celery tasks of the training app: thin wrappers around ``training.services``.

Keep them thin: ids in, a service call, nothing else. torch is imported only inside the services'
runners, so the default / cpu workers that import this module never load it.
"""

from __future__ import annotations

from celery import shared_task

from training import schedules, services


@shared_task(name="training.tasks.run_gpu_job", acks_late=True)  # queue: CELERY_TASK_ROUTES
def run_gpu_job(job_id: int) -> str | None:
    """Run a job of a ``gpu``-queue kind (embedding, fine-tuning, evaluation)."""
    job = services.job_run(job_id=job_id)
    return job.status if job else None


@shared_task(name="training.tasks.run_cpu_job", acks_late=True)  # queue: CELERY_TASK_ROUTES
def run_cpu_job(job_id: int) -> str | None:
    """Run a job of a ``cpu``-queue kind (collaborative filtering)."""
    job = services.job_run(job_id=job_id)
    return job.status if job else None


@shared_task(name="training.tasks.reap_stale_jobs")
def reap_stale_jobs() -> list[int]:
    """Beat, every minute: fail running jobs whose worker stopped heartbeating."""
    return services.reap_stale_jobs()


@shared_task(name="training.tasks.embed_incremental")
def embed_incremental() -> int | None:
    """Beat, every few minutes: queue an incremental ``embed_catalog`` job when products changed."""
    job = services.embed_incremental_launch()
    return job.pk if job else None


@shared_task(name="training.tasks.launch_due_schedules")
def launch_due_schedules() -> list[int]:
    """Beat, every minute: launch the job schedules that are due (``training.schedules``)."""
    return schedules.schedules_launch_due()
