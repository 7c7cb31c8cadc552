"""Writes of the training app: launch / run / cancel / retry / reap jobs, promote and roll back
model versions, save query labels, deliver notices.

The admin, the API, the management commands and the Celery tasks all call these functions.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.knowledge.selectors import missing_passage_vector_count
from courses.gate import check_course_gate
from platform_core.caches import bump_models_generation
from platform_core.celery import app as celery_app
from platform_core.services import audit_record
from training import estimates, selectors
from training.activation import (
    ACTIVATE_FIRST,
    DEFAULT_PARENT_TOLERANCE,
    KEEP,
    Decision,
    decide,
    parent_tolerance_check,
)
from training.classifier_labels import intent_labels
from training.context import JobContext, JobLost, Monitor, remove_artifact_dir
from training.datasets import flagged_rows_excluded
from training.jobs import JobKind, get_job_kind, validate_params
from training.ml.pairs import normalize_query
from training.ml.progress import JobCancelled
from training.models import Job, JobNotice, JobSchedule, ModelVersion, QueryLabel, Task

logger = logging.getLogger(__name__)

FINISHED = (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED)
# The Celery task that runs a job of each queue (defined in training.tasks).
RUN_JOB_TASKS = {"gpu": "training.tasks.run_gpu_job", "cpu": "training.tasks.run_cpu_job"}


# =========================================================================== jobs


def job_launch(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    user=None,
    retry_of: Job | None = None,
    schedule: JobSchedule | None = None,
) -> Job:
    """Validate ``params`` against the kind's spec, create the job row and queue its task once
    the transaction commits. Raises ``ValidationError`` with a message per bad parameter.
    ``promote_if_better`` promotes on the launcher's behalf: the course gate applies to them."""
    spec = get_job_kind(kind)
    clean = validate_params(spec, params)
    if clean.get("promote_if_better"):
        check_course_gate(user, action="launch a job that promotes its version automatically")
    task_id = str(uuid.uuid4())
    job = Job.objects.create(
        kind=spec.name,
        params=clean,
        queue=spec.queue,
        celery_task_id=task_id,
        created_by=user if getattr(user, "pk", None) else None,
        attempt=(retry_of.attempt + 1) if retry_of else 1,
        retry_of=retry_of,
        schedule=schedule,
    )
    details = {"kind": spec.name, "params": clean, "retry_of": retry_of.pk if retry_of else None}
    if schedule is not None:
        details["schedule"] = schedule.pk
    audit_record(
        actor=user, action="job.retry" if retry_of else "job.launch", obj=job, details=details
    )
    job_id, queue = job.pk, spec.queue
    transaction.on_commit(lambda: _enqueue(job_id=job_id, queue=queue, task_id=task_id))
    return job


def _enqueue(*, job_id: int, queue: str, task_id: str) -> None:
    """Send the job's task by name: ``training.tasks`` calls these services, so the services
    do not import the tasks (the worker that consumes the queue has them registered)."""
    name = RUN_JOB_TASKS["gpu"] if queue == "gpu" else RUN_JOB_TASKS["cpu"]
    celery_app.send_task(name, args=[job_id], task_id=task_id, queue=queue)


def job_run(*, job_id: int) -> Job | None:
    """Run a queued job in this process (what the Celery task calls).

    A guarded ``UPDATE … WHERE status = 'queued'`` claims the row, so a redelivered message or
    a second worker does nothing. Progress, heartbeat and cancel polling run on a monitor
    thread; versions the runner created are discarded (row, vectors, index, artifact) unless
    the job succeeds. Returns the finished job, or None when it was not claimable.
    """
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, error="", message="starting"
    )
    if not claimed:
        logger.warning(
            "job %s is not queued (already run, running, cancelled or deleted): skipped", job_id
        )
        return None
    job = Job.objects.select_related("created_by").get(pk=job_id)
    spec = get_job_kind(job.kind)
    ctx = JobContext(job=job, kind=spec, params=dict(job.params))
    ctx.log(f"{job.kind} started (attempt {job.attempt}) with {job.params}")
    monitor = Monitor(ctx)
    monitor.start()
    started = time.perf_counter()
    status, error = Job.Status.SUCCEEDED, ""
    try:
        ctx.params = validate_params(spec, job.params)
        estimates.record_rows(spec, ctx.timings)  # what the launch page's estimate scales
        _limit_torch_threads()
        # Every kind's dataset readers honour the data quality flags under this scope.
        with flagged_rows_excluded(bool(ctx.params.get("exclude_flagged"))):
            spec.resolve_runner()(ctx)
    except JobLost as exc:
        status, error = Job.Status.FAILED, str(exc)
    except JobCancelled:
        status = Job.Status.CANCELLED
        ctx.log("cancelled")
    except Exception as exc:
        status = Job.Status.FAILED
        error = traceback.format_exc()
        ctx.log(f"failed: {exc.__class__.__name__}: {exc}")
        logger.exception("job %s (%s) failed", job_id, job.kind)
    finally:
        monitor.stop()
    ctx.timings["total_s"] = round(time.perf_counter() - started, 3)
    peak = None
    if ctx.device_info is not None:
        from training.ml.device import peak_memory_mb

        peak = round(peak_memory_mb(ctx.device_info), 1)
    fields = ctx.snapshot(full=True) or {}
    fields.update(
        status=status,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        error=error,
        timings=ctx.timings,
        metrics=_jsonable(ctx.metrics),
        peak_memory_mb=peak,
        result_version=ctx.result_version if status == Job.Status.SUCCEEDED else None,
    )
    if status == Job.Status.SUCCEEDED:
        fields.update(progress=1.0, eta_seconds=0.0, message="done")
    else:
        fields["message"] = "cancelled" if status == Job.Status.CANCELLED else "failed"
    with transaction.atomic():
        finished = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(**fields)
        if finished and status == Job.Status.SUCCEEDED:
            ModelVersion.objects.filter(
                pk__in=ctx.created_version_ids, status=ModelVersion.Status.TRAINING
            ).update(status=ModelVersion.Status.READY)
    if not finished or status != Job.Status.SUCCEEDED:
        discard_versions(ctx.created_version_ids)
    elif ctx.activation_candidate is not None:
        try:
            decision = version_activation_apply(
                job=job, version=ctx.activation_candidate, kind=spec, params=ctx.params
            )
            line = f"activation policy: {decision.action}: {decision.reason}"
        except Exception as exc:  # the job did succeed: its version waits for an operator
            logger.exception("job %s: the activation policy failed", job_id)
            line = f"activation policy not applied ({exc.__class__.__name__}: {exc})"
            Job.objects.filter(pk=job_id).update(activation=KEEP, activation_reason=line[:500])
        ctx.log(line)
        Job.objects.filter(pk=job_id).update(log=(ctx.snapshot() or {}).get("log", job.log))
    if finished and status == Job.Status.SUCCEEDED and ctx.follow_ups:
        _launch_follow_ups(ctx, job)
    job.refresh_from_db()
    if finished and status == Job.Status.FAILED:
        _notify_failure(job)
    return job


def _launch_follow_ups(ctx: JobContext, job: Job) -> None:
    """Launch the jobs the runner asked for (``JobContext.then_launch``); a refused launch is
    logged on the finished job, never turned into its failure."""
    for kind, params in ctx.follow_ups:
        try:
            follow = job_launch(kind=kind, params=params, user=job.created_by)
            ctx.log(f"launched {kind} job #{follow.pk}")
        except ValidationError as exc:
            ctx.log(f"could not launch {kind}: {exc}")
    Job.objects.filter(pk=job.pk).update(log=(ctx.snapshot() or {}).get("log", job.log))


def _limit_torch_threads() -> None:
    """Apply the optional setting ``JOB_TORCH_THREADS`` (0 or unset: torch's default, one per
    core). A worker that shares its cores with the web server, the database or other workers
    trains far faster with fewer threads: OpenMP threads that wait for a busy core spin."""
    threads = int(getattr(settings, "JOB_TORCH_THREADS", 0) or 0)
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _jsonable(value: Any) -> Any:
    """Metrics as JSON-safe values (numpy scalars → Python numbers)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def discard_versions(version_ids: Iterable[int]) -> list[int]:
    """Delete versions a failed / cancelled / reaped job left behind: never active, so nothing
    serves them; their vectors (cascade), HNSW index and artifact directory go too."""
    from training.vectors import drop_hnsw_index

    removed = []
    for version in ModelVersion.objects.filter(pk__in=list(version_ids), is_active=False).exclude(
        status=ModelVersion.Status.READY
    ):
        relative = version.artifact_dir or f"{version.task}/v{version.pk}"
        drop_hnsw_index(version.pk)
        version.delete()
        remove_artifact_dir(relative)
        removed.append(version.pk)
    return removed


def _notify_failure(job: Job) -> None:
    if job.created_by_id is None:
        return
    reason = (job.error.strip().splitlines() or ["unknown error"])[-1][:300]
    JobNotice.objects.create(
        user_id=job.created_by_id,
        job=job,
        level=JobNotice.Level.ERROR,
        message=f"Job #{job.pk} ({job.kind}) failed: {reason}",
    )


def job_cancel(*, job: Job, user=None) -> Job:
    """Cancel a queued job at once; ask a running one to stop (it does within one step)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status == Job.Status.QUEUED:
            job.status, job.finished_at, job.message = (
                Job.Status.CANCELLED,
                timezone.now(),
                "cancelled before it started",
            )
            job.cancel_requested = True
            job.save(update_fields=["status", "finished_at", "message", "cancel_requested"])
        elif job.status == Job.Status.RUNNING:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
        else:
            raise ValidationError(
                f"Job #{job.pk} has already finished ({job.status}); nothing to cancel.",
                code="finished",
            )
        audit_record(actor=user, action="job.cancel", obj=job, details={"status": job.status})
    return job


def job_retry(*, job: Job, user=None) -> Job:
    """A new attempt of a failed or cancelled job, with the same kind and parameters."""
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        raise ValidationError(
            f"Only failed or cancelled jobs can be retried; job #{job.pk} is {job.status}.",
            code="not_retryable",
        )
    return job_launch(kind=job.kind, params=job.params, user=user or job.created_by, retry_of=job)


def reap_stale_jobs(*, stale_seconds: int | None = None) -> list[int]:
    """Fail running jobs whose heartbeat stopped (the worker died): their versions are
    discarded and their launcher notified; each can be retried as a new attempt."""
    stale = stale_seconds if stale_seconds is not None else settings.JOB_STALE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale)
    reaped = []
    candidates = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)
    for job in candidates.select_related("created_by"):
        last = job.heartbeat_at
        error = (
            f"The worker stopped sending heartbeats (last one at {last:%Y-%m-%d %H:%M:%S %Z}, "
            f"more than {stale} s ago): its process probably died (killed, out of memory, machine "
            "restart). Nothing it was writing was registered. Retry the job to run it again."
        )
        updated = Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=last
        ).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), error=error, message="worker lost"
        )
        if not updated:
            continue
        discard_versions(ModelVersion.objects.filter(job=job).values_list("pk", flat=True))
        job.refresh_from_db()
        audit_record(
            actor=None, action="job.reaped", obj=job, details={"last_heartbeat": str(last)}
        )
        _notify_failure(job)
        reaped.append(job.pk)
    return reaped


def notices_deliver(*, user) -> list[JobNotice]:
    """Pending notices of ``user``, marked delivered (the caller shows them once)."""
    notices = list(selectors.pending_notices(user))
    if notices:
        JobNotice.objects.filter(pk__in=[n.pk for n in notices]).update(delivered_at=timezone.now())
    return notices


# =========================================================================== registry


def parent_tolerance() -> float:
    """How far (relative NDCG@k) a quantised child may fall below its parent and still serve."""
    return float(getattr(settings, "QUANTIZED_NDCG_TOLERANCE", DEFAULT_PARENT_TOLERANCE))


def _check_activatable(version: ModelVersion) -> None:
    if version.status != ModelVersion.Status.READY:
        raise ValidationError(
            f"Version #{version.pk} is {version.status}; only ready versions can be activated.",
            code="not_ready",
        )
    if version.job_id and (version.job.params or {}).get("analysis"):
        raise ValidationError(
            f"Version #{version.pk} comes from an analysis run (job #{version.job_id}, "
            "analysis=true), which never activates; train it again without analysis.",
            code="analysis_run",
        )
    if version.parent_id and version.precision == "int8":
        within, why = parent_tolerance_check(version.metrics or {}, parent_tolerance())
        if not within:
            raise ValidationError(
                f"Version #{version.pk} is a quantised child whose quality is {why}; it may serve "
                "only within that tolerance (setting QUANTIZED_NDCG_TOLERANCE).",
                code="beyond_tolerance",
            )
    if version.task == Task.RETRIEVER:
        missing = selectors.missing_vector_count(version)
        if missing:
            raise ValidationError(
                f"Retriever version #{version.pk} has no vectors for {missing} active product(s); run "
                f"`run_job embed_catalog --param version={version.pk}` first.",
                code="missing_vectors",
            )
        missing = missing_passage_vector_count(version.space_id)  # a child serves its parent's
        if missing:
            raise ValidationError(
                f"Retriever version #{version.pk} has no vectors for {missing} knowledge-base "
                f"passage(s); run `run_job embed_knowledge --param version={version.space_id}` "
                "first.",
                code="missing_knowledge_vectors",
            )


def _activate(
    version: ModelVersion,
    *,
    previous: ModelVersion | None,
    actor,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """The one activation path (operator promotion, a task's first version, the activation
    policy): call inside a transaction that holds the task's rows locked. Audited; the serving
    caches' generation is bumped once the transaction commits."""
    _check_activatable(version)
    if previous is not None:
        ModelVersion.objects.filter(pk=previous.pk).update(is_active=False)
    version.is_active = True
    version.previous_active = previous
    version.promoted_at = timezone.now()
    version.promoted_by = actor if getattr(actor, "pk", None) else None
    version.save(update_fields=["is_active", "previous_active", "promoted_at", "promoted_by"])
    audit_record(
        actor=actor,
        action=action,
        obj=version,
        details={
            "task": version.task,
            "previous": previous.pk if previous else None,
            **(details or {}),
        },
    )
    transaction.on_commit(bump_models_generation)


def _lock_task_versions(task: str) -> dict[int, ModelVersion]:
    return {v.pk: v for v in ModelVersion.objects.select_for_update().filter(task=task)}


def model_promote(*, version: ModelVersion, user) -> ModelVersion:
    """Make ``version`` the active one of its task (audited; course gate first)."""
    check_course_gate(user, action="promote a model version")
    with transaction.atomic():
        rows = _lock_task_versions(version.task)
        version = rows[version.pk]
        if version.is_active:
            raise ValidationError(
                f"Version #{version.pk} is already the active {version.task}.",
                code="already_active",
            )
        previous = next((v for v in rows.values() if v.is_active), None)
        _activate(version, previous=previous, actor=user, action="model.promote")
    return version


def version_activation_apply(
    *, job: Job, version: ModelVersion, kind: JobKind, params: dict[str, Any]
) -> Decision:
    """Carry out the kind's activation policy for the version a succeeded job finished with
    (``training.activation.decide``): activate the task's first sane version, or promote a
    better one when the job asked (``promote_if_better``). Records the outcome on the job;
    every activation is audited with its reason (actor: the system; the launcher is in the
    details)."""
    with transaction.atomic():
        rows = _lock_task_versions(version.task)
        version = rows[version.pk]
        active = next((v for v in rows.values() if v.is_active), None)
        decision = decide(
            policy=kind.versions,
            params=params,
            metrics=version.metrics or {},
            active_id=active.pk if active else None,
            active_metrics=active.metrics if active else None,
            tolerance=parent_tolerance(),
        )
        if decision.activates:
            try:
                with transaction.atomic():
                    _activate(
                        version,
                        previous=active,
                        actor=None,
                        action=(
                            "model.activate_first"
                            if decision.action == ACTIVATE_FIRST
                            else "model.promote_if_better"
                        ),
                        details={
                            "reason": decision.reason,
                            "job": job.pk,
                            "launched_by": job.created_by_id,
                            "metric": decision.metric,
                            "value": decision.candidate,
                            "active_value": decision.baseline,
                        },
                    )
            except ValidationError as exc:
                decision = Decision(
                    KEEP, f"{decision.reason}, but not activatable: {' '.join(exc.messages)}"
                )
        Job.objects.filter(pk=job.pk).update(
            activation=decision.action, activation_reason=decision.reason[:500]
        )
    return decision


def model_rollback(*, task: str, user) -> ModelVersion:
    """Re-activate the version the active one replaced (audited; course gate first)."""
    if task not in Task.values:
        raise ValidationError(
            f"Unknown task {task!r}; tasks: {', '.join(Task.values)}.", code="unknown_task"
        )
    check_course_gate(user, action="promote a model version")
    with transaction.atomic():
        rows = {v.pk: v for v in ModelVersion.objects.select_for_update().filter(task=task)}
        current = next((v for v in rows.values() if v.is_active), None)
        if current is None:
            raise ValidationError(
                f"No {task} version is active; nothing to roll back.", code="no_active"
            )
        target = rows.get(current.previous_active_id)
        if target is None:
            raise ValidationError(
                f"Active {task} version #{current.pk} replaced no other version; "
                "nothing to roll back to.",
                code="no_previous",
            )
        _check_activatable(target)
        ModelVersion.objects.filter(pk=current.pk).update(is_active=False)
        target.is_active = True
        target.promoted_at = timezone.now()
        target.promoted_by = user if getattr(user, "pk", None) else None
        target.save(update_fields=["is_active", "promoted_at", "promoted_by"])
        audit_record(
            actor=user,
            action="model.rollback",
            obj=target,
            details={"task": task, "from": current.pk, "to": target.pk},
        )
        transaction.on_commit(bump_models_generation)
    return target


# =========================================================================== labels


def query_labels_save(*, labels: dict[str, str], user) -> int:
    """Save intent labels ``{query: label}`` in bulk (queries normalised; an empty label
    removes one). Returns how many rows were created or changed."""
    allowed = set(intent_labels())
    clean: dict[str, str] = {}
    for query, label in labels.items():
        norm = normalize_query(query)
        if not norm:
            continue
        label = (label or "").strip()
        if label and label not in allowed:
            raise ValidationError(
                f"Unknown intent label {label!r}; labels: {', '.join(intent_labels())}."
            )
        clean[norm] = label
    to_delete = [q for q, label in clean.items() if not label]
    to_save = {q: label for q, label in clean.items() if label}
    with transaction.atomic():
        deleted, _ = QueryLabel.objects.filter(query__in=to_delete).delete()
        existing = {row.query: row for row in QueryLabel.objects.filter(query__in=list(to_save))}
        now = timezone.now()
        changed = [row for q, row in existing.items() if row.label != to_save[q]]
        for row in changed:
            row.label, row.user, row.updated_at = to_save[row.query], user, now
        QueryLabel.objects.bulk_update(changed, ["label", "user", "updated_at"])
        created = QueryLabel.objects.bulk_create(
            [
                QueryLabel(query=q, label=label, user=user)
                for q, label in to_save.items()
                if q not in existing
            ]
        )
        total = len(created) + len(changed) + deleted
        if total:
            audit_record(
                actor=user,
                action="training.label_queries",
                object_type="training.querylabel",
                object_repr=f"{total} query label(s)",
                details={"created": len(created), "changed": len(changed), "deleted": deleted},
            )
    return total


def model_version_register(
    *,
    task: str,
    name: str,
    base: str = "",
    user=None,
    dimension: int | None = None,
    artifact_dir: str = "",
    metrics: dict | None = None,
    hyperparameters: dict | None = None,
) -> ModelVersion:
    """Register a ready version that no job trained (e.g. the packaged base encoder)."""
    version = ModelVersion.objects.create(
        task=task,
        name=name,
        base=base,
        dimension=dimension,
        artifact_dir=artifact_dir,
        metrics=metrics or {},
        hyperparameters=hyperparameters or {},
        status=ModelVersion.Status.READY,
        created_by=user if getattr(user, "pk", None) else None,
    )
    audit_record(actor=user, action="model.register", obj=version, details={"base": base})
    return version


def job_launch_unless_open(kind: str, params: dict[str, Any] | None = None) -> Job | None:
    """Queue a system job (no launcher) of ``kind`` unless one with these ``params`` is already
    queued or running (beat's launches: a slow job is never piled up behind itself); the job,
    else None."""
    params = params or {}
    if selectors.open_job_of_kind(kind, params_subset=params or None):
        return None
    with transaction.atomic():
        return job_launch(kind=kind, params=params, user=None)


def embed_incremental_launch() -> Job | None:
    """Queue ``embed_catalog incremental=true`` when a product changed (or a served retriever
    lacks vectors) and no such job is already queued or running; else None."""
    served = [v.pk for v in selectors.served_retriever_versions()]
    if not served or selectors.open_job_of_kind(
        "embed_catalog", params_subset={"incremental": True}
    ):
        return None  # checked first: it is cheaper than finding the products to embed
    if not selectors.products_needing_embedding(served):
        return None
    with transaction.atomic():
        return job_launch(kind="embed_catalog", params={"incremental": True}, user=None)


def model_activate_initial(*, version: ModelVersion) -> ModelVersion:
    """System activation of a task's first version (``make run`` bootstrap): only when no version
    of the task is active, so it never replaces an operator's choice; no course gate applies."""
    with transaction.atomic():
        rows = _lock_task_versions(version.task)
        if any(v.is_active for v in rows.values()):
            raise ValidationError(
                f"A {version.task} version is already active.", code="already_active"
            )
        version.refresh_from_db()  # the caller's object ends up active too, as it always did
        _activate(version, previous=None, actor=None, action="model.activate_initial")
    return version
