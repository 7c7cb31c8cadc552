"""The job machinery with real jobs in this process: run, progress, failure, reaping, retry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalog.models import Product
from tests import factories
from training import selectors, services, vectors
from training.jobs import Param, register_job_kind
from training.models import Job, JobNotice, ModelVersion, ProductEmbedding, Task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def base_retriever(db):
    """The packaged MiniLM registered as the active retriever, without vectors yet."""
    return factories.ModelVersionFactory(name="base", is_active=True)


def _launch(kind, params=None, user=None):
    return services.job_launch(kind=kind, params=params or {}, user=user)


def _failing_runner(ctx):
    version = ctx.create_version(task=Task.RETRIEVER, name="half written", base="x")
    path = ctx.artifact_path(version)
    (path.parent / (path.name + ".tmp")).mkdir(parents=True)
    path.mkdir(parents=True)
    (path / "weights.bin").write_bytes(b"partial")
    _failing_runner.paths = [path, path.parent / (path.name + ".tmp")]
    ctx.progress(0.5, 5, 10, 1.25, {"epoch": 1})
    raise RuntimeError("disk full while saving")


register_job_kind(
    "test_failing",
    queue="cpu",
    runner=_failing_runner,
    help="test: fails half-way",
    params=[Param("n", int, 1, "unused")],
    replace=True,
)


def _lost_write_runner(ctx):
    ctx.progress(0.5, 5, 10, 0.75, {"epoch": 1})
    # What a monitor write that found no row to update does (its snapshot taken, its UPDATE
    # matching nothing, as when it races the job row's commit): the point must not be lost.
    assert ctx.snapshot() is not None and ctx.snapshot() is None
    ctx.finish(None, {"done": 1})


register_job_kind(
    "test_lost_monitor_write",
    queue="cpu",
    runner=_lost_write_runner,
    help="test: its one progress point was taken by a monitor write that updated nothing",
    params=[Param("n", int, 1, "unused")],
    replace=True,
)


def test_the_final_write_keeps_the_history_a_lost_monitor_write_took(operator_user):
    job = _launch("test_lost_monitor_write", user=operator_user)

    finished = services.job_run(job_id=job.pk)

    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert [p["loss"] for p in finished.metrics_history] == [0.75]


@pytest.mark.slow
def test_embed_catalog_writes_vectors_index_progress_and_metrics(base_retriever, operator_user):
    store = factories.build_training_store(per_category=4, shoppers=2, sessions=1)
    job = _launch("embed_catalog", {"device": "cpu", "batch_size": 8}, operator_user)
    assert (
        job.status == Job.Status.QUEUED
        and job.queue == "gpu"
        and job.params["incremental"] is False
    )

    finished = services.job_run(job_id=job.pk)

    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.progress == 1.0 and finished.result_version_id == base_retriever.pk
    products = sum(len(v) for v in store.products.values())
    assert ProductEmbedding.objects.filter(model_version=base_retriever).count() == products
    assert finished.metrics["products"] == products and finished.metrics["products_per_s"] > 0
    assert finished.device.startswith("CPU") and finished.peak_memory_mb > 0
    assert {"read product texts_s", "encode and write_s", "build index_s", "total_s"} <= set(
        finished.timings
    )
    assert finished.metrics_history and finished.metrics_history[-1]["fraction"] <= 1.0
    assert "embedded" in finished.log
    assert vectors.hnsw_index_exists(base_retriever.pk)
    assert not Product.objects.filter(needs_embedding=True).exists()
    # Vectors are the model's normalised embeddings of the product text.
    ids, matrix = vectors.load_vectors(base_retriever.pk)
    assert matrix.shape == (products, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)

    # A second run on the same queued row does nothing (guarded UPDATE).
    assert services.job_run(job_id=job.pk) is None


@pytest.mark.slow
def test_incremental_embeds_only_changed_products_for_every_served_version(base_retriever):
    store = factories.build_training_store(per_category=3, shoppers=1, sessions=1)
    assert (
        services.job_run(job_id=_launch("embed_catalog", {"device": "cpu"}).pk).status
        == "succeeded"
    )
    before = dict(
        ProductEmbedding.objects.filter(model_version=base_retriever).values_list(
            "product_id", "updated_at"
        )
    )
    changed = store.products["coffee"][0]
    changed.title = "Stovetop Moka Pot"
    changed.needs_embedding = True
    changed.save()
    new = factories.ProductFactory(
        title="Camping Hammock", category=store.products["camping"][0].category
    )

    job = services.job_run(
        job_id=_launch("embed_catalog", {"incremental": True, "device": "cpu"}).pk
    )

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.metrics["products"] == 2 and job.metrics["versions"] == [base_retriever.pk]
    after = dict(
        ProductEmbedding.objects.filter(model_version=base_retriever).values_list(
            "product_id", "updated_at"
        )
    )
    assert set(after) == set(before) | {new.pk}
    assert after[changed.pk] > before[changed.pk]
    untouched = [pk for pk in before if pk != changed.pk]
    assert all(after[pk] == before[pk] for pk in untouched)
    assert not Product.objects.filter(needs_embedding=True, active=True).exists()
    # Nothing changed: the beat task's check queues nothing.
    assert services.embed_incremental_launch() is None


def test_failed_job_discards_its_version_and_artifact_and_notifies_the_launcher(operator_user):
    job = _launch("test_failing", {}, operator_user)
    finished = services.job_run(job_id=job.pk)

    assert finished.status == Job.Status.FAILED
    assert "disk full while saving" in finished.error and "Traceback" in finished.error
    assert not ModelVersion.objects.exists()
    assert len(_failing_runner.paths) == 2
    assert not any(p.exists() for p in _failing_runner.paths)
    assert finished.loss == 1.25  # progress reported before the failure was kept
    notice = JobNotice.objects.get(user=operator_user)
    assert f"Job #{job.pk}" in notice.message and "disk full" in notice.message
    # The notice shows once.
    assert [n.pk for n in services.notices_deliver(user=operator_user)] == [notice.pk]
    assert services.notices_deliver(user=operator_user) == []


def test_reaper_fails_stale_running_jobs_and_retry_makes_a_new_attempt(operator_user):
    job = factories.JobFactory(
        kind="test_failing",
        queue="cpu",
        params={"n": 1},
        status=Job.Status.RUNNING,
        created_by=operator_user,
        started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5),
    )
    fresh = factories.JobFactory(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    left_behind = factories.ModelVersionFactory(
        job=job, status=ModelVersion.Status.TRAINING, artifact_dir="retriever/v999999"
    )
    (Path(settings.ARTIFACTS_DIR) / "retriever/v999999.tmp").mkdir(parents=True)

    assert services.reap_stale_jobs() == [job.pk]

    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == Job.Status.FAILED and "heartbeats" in job.error and "Retry" in job.error
    assert fresh.status == Job.Status.RUNNING
    assert not ModelVersion.objects.filter(pk=left_behind.pk).exists()
    assert not (Path(settings.ARTIFACTS_DIR) / "retriever/v999999.tmp").exists()
    assert JobNotice.objects.filter(job=job, user=operator_user).exists()

    retry = services.job_retry(job=job, user=operator_user)
    assert (retry.kind, retry.params, retry.attempt, retry.retry_of_id) == (
        job.kind,
        job.params,
        2,
        job.pk,
    )
    assert retry.status == Job.Status.QUEUED
    with pytest.raises(Exception, match="Only failed or cancelled"):
        services.job_retry(job=fresh, user=operator_user)


def test_cancel_a_queued_job_at_once_and_a_finished_one_is_refused(operator_user):
    job = _launch("test_failing", {}, operator_user)
    services.job_cancel(job=job, user=operator_user)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert services.job_run(job_id=job.pk) is None  # a cancelled job never starts
    with pytest.raises(Exception, match="already finished"):
        services.job_cancel(job=job, user=operator_user)


def test_queue_position_counts_queued_jobs_ahead_on_the_same_queue():
    first = factories.JobFactory(queue="gpu")
    factories.JobFactory(queue="cpu")
    second = factories.JobFactory(queue="gpu")
    running = factories.JobFactory(queue="gpu", status=Job.Status.RUNNING)
    assert selectors.job_queue_position(first) == 1
    assert selectors.job_queue_position(second) == 2
    assert selectors.job_queue_position(running) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_cancel_of_a_running_job_stops_it_within_a_step(settings, monkeypatch):
    """The monitor thread sees cancel_requested (committed rows) and the encoder stops."""
    import threading
    import time

    settings.JOB_HEARTBEAT_SECONDS = 0.5
    # this test's thread is the worker: a suite Celery worker left running by an earlier test
    # must not take the queued task (it would run the job with its own settings)
    monkeypatch.setattr(services, "_enqueue", lambda **kwargs: None)
    version = factories.ModelVersionFactory(is_active=True)
    factories.build_training_store(per_category=60, shoppers=1, sessions=1)
    job = _launch("embed_catalog", {"device": "cpu", "batch_size": 1, "build_index": False})

    def work():
        try:
            services.job_run(job_id=job.pk)
        finally:
            connection.close()  # this thread's own connection

    # wait for the row's state, never for a time that depends on the machine's speed
    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 600
    row = Job.objects.get(pk=job.pk)
    while not (row.status == Job.Status.RUNNING and row.step >= 2):
        assert row.status in (Job.Status.QUEUED, Job.Status.RUNNING), (row.status, row.log)
        assert time.monotonic() < deadline, "the job never reached its second step"
        time.sleep(0.1)
        row = Job.objects.get(pk=job.pk)
    services.job_cancel(job=job)
    worker.join(timeout=600)
    finished = Job.objects.get(pk=job.pk)
    while finished.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        assert time.monotonic() < deadline, "the cancelled job never stopped"
        time.sleep(0.1)
        finished = Job.objects.get(pk=job.pk)
    assert finished.status == Job.Status.CANCELLED
    assert finished.step < finished.total_steps  # it stopped long before every product was done
    assert "cancelled" in finished.log
    assert version.pk == selectors.active_version(Task.RETRIEVER).pk


@pytest.mark.slow
def test_lora_fine_tune_stores_only_the_adapter_and_its_base_id(base_retriever, operator_user):
    import json

    factories.build_training_store(per_category=3, shoppers=12, sessions=6)
    services.job_run(job_id=_launch("embed_catalog", {"device": "cpu"}).pk)
    params = {"mode": "lora", "epochs": 1, "batch_size": 16, "device": "cpu", "min_pairs": 10}
    job = services.job_run(job_id=_launch("finetune_retriever", params, operator_user).pk)

    assert job.status == Job.Status.SUCCEEDED, job.error
    version = job.result_version
    artifact = Path(settings.ARTIFACTS_DIR) / version.artifact_dir
    adapter = json.loads((artifact / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == version.base == base_retriever.base
    assert not (artifact / "model.safetensors").exists()  # the adapter alone, not a full copy
    assert version.hyperparameters["mode"] == "lora" and version.parent == base_retriever
    assert selectors.missing_vector_count(version) == 0
    assert {"recall@10", "ndcg@10", "mrr", "active_same_split"} <= set(version.metrics)
    services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == version
