"""A real Celery worker killed with SIGKILL in the middle of a fine-tune: the reaper fails the job,
nothing half-written is registered, and a retry on a fresh worker succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories
from tests.waiting import wait_for
from training import selectors, services
from training.models import Job, JobNotice, ModelVersion, Task

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


def _start_worker(queue: str, log: Path) -> subprocess.Popen:
    from platform_core.celery import app
    from platform_core.connection_urls import database_url

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        REDIS_URL=settings.REDIS_URL,
        REDIS_DB=str(settings.REDIS_DB),
        DATA_DIR=str(settings.DATA_DIR),
        ARTIFACTS_DIR=str(settings.ARTIFACTS_DIR),
        AISLE_SKIP_SERVICES="1",
        PYTHONUNBUFFERED="1",
        JOB_HEARTBEAT_SECONDS="1",
        OMP_NUM_THREADS="1",  # see test_jobs_kinds.one_torch_thread
    )
    name = f"{queue}@%h"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "platform_core",
        "worker",
        "-Q",
        queue,
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "-n",
        name,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with open(log, "a") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.time() + 300  # a cold start takes minutes under a load average of 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()[-3000:]}")
        replies = app.control.ping(timeout=0.5) or []
        if any(name.split("@")[0] in host for reply in replies for host in reply):
            return proc
    proc.kill()
    raise RuntimeError(f"worker did not answer:\n{log.read_text()[-3000:]}")


def test_killed_worker_leaves_a_failed_job_with_nothing_registered_and_a_retry_succeeds(
    monkeypatch, tmp_path, operator_user
):
    from training import tasks

    queue = f"kill-test-{os.getpid()}"
    # Route this test's jobs to a queue only its own workers consume (other tests' workers may run).
    monkeypatch.setattr(
        services,
        "_enqueue",
        lambda *, job_id, queue_name=queue, task_id, **_: tasks.run_gpu_job.apply_async(
            args=[job_id], task_id=task_id, queue=queue_name
        ),
    )
    factories.build_training_store(per_category=3, shoppers=16, sessions=6)
    base = factories.ModelVersionFactory(name="base", is_active=True)
    services.job_run(job_id=services.job_launch(kind="embed_catalog", params={"device": "cpu"}).pk)
    assert selectors.missing_vector_count(base) == 0
    params = {"epochs": 3, "batch_size": 8, "device": "cpu", "min_pairs": 10, "seed": 3}

    log = tmp_path / "worker.log"
    worker = _start_worker(queue, log)
    try:
        job = services.job_launch(kind="finetune_retriever", params=params, user=operator_user)
        running = wait_for(
            lambda: Job.objects.filter(
                pk=job.pk, status=Job.Status.RUNNING, step__gte=1, message="train"
            ).first(),
            240,
            "training steps",
            every=0.25,
        )
        version = ModelVersion.objects.get(job=job)  # created, still training
        assert version.status == ModelVersion.Status.TRAINING and running.heartbeat_at is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    time.sleep(2.5)
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING  # nobody told the database
    assert services.reap_stale_jobs(stale_seconds=2) == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "heartbeats" in job.error
    assert not ModelVersion.objects.filter(job=job).exists()
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    artifact = Path(settings.ARTIFACTS_DIR) / "retriever" / f"v{version.pk}"
    assert not artifact.exists() and not artifact.with_name(artifact.name + ".tmp").exists()
    assert selectors.active_version(Task.RETRIEVER) == base
    assert JobNotice.objects.filter(user=operator_user, job=job).exists()

    worker = _start_worker(queue, log)
    try:
        retry = services.job_retry(job=job, user=operator_user)
        done = wait_for(
            lambda: (
                Job.objects.filter(pk=retry.pk)
                .exclude(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
                .first()
            ),
            400,
            "the retry to finish",
            every=0.25,
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert done.status == Job.Status.SUCCEEDED, done.error + log.read_text()[-2000:]
    assert done.attempt == 2 and done.retry_of_id == job.pk
    new_version = done.result_version
    assert new_version.status == ModelVersion.Status.READY and new_version.job_id == done.pk
    assert (Path(settings.ARTIFACTS_DIR) / new_version.artifact_dir).is_dir()
    assert done.heartbeat_at is not None and done.device.startswith("CPU")
