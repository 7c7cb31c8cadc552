"""What a job runner sees while it runs: parameters, progress, cancellation, versions, log.

``JobContext`` is handed to a kind's runner by ``services.job_run``. Compute code may call its
``progress`` and ``should_cancel`` from any thread (an encoder thread, a training loop): they
only touch in-memory state. A monitor thread owns the job row while the job runs — every
~2 seconds it writes the progress fields, appends a chart point and reads ``cancel_requested``,
and every ``JOB_HEARTBEAT_SECONDS`` it writes ``heartbeat_at``, from its own database
connection. So the row is updated at most every ~2 s whatever the loop's step rate, and a solo
worker busy in C code still heartbeats.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from training.ml.progress import JobCancelled
from training.models import Job, ModelVersion

if TYPE_CHECKING:
    from training.jobs import JobKind
    from training.ml.device import DeviceInfo

logger = logging.getLogger("training.jobs")

FLUSH_SECONDS = 2.0  # progress writes and cancel reads, at most this often
MAX_HISTORY_POINTS = 600
MAX_LOG_LINES = 2000


class JobLost(JobCancelled):
    """The job row stopped being ``running`` under us (reaped as stale, or deleted)."""


class JobContext:
    """State of one running job, shared by the runner, its compute threads and the monitor."""

    def __init__(self, *, job: Job, kind: JobKind, params: dict[str, Any]) -> None:
        self.job = job
        self.job_id = job.pk
        self.kind = kind
        self.params = params
        self.user = job.created_by
        self.result_version: ModelVersion | None = None
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.device_info: DeviceInfo | None = None
        self.created_version_ids: list[int] = []
        # The version this job finished with, judged by the kind's activation policy once the
        # job succeeded (services.job_run): set by finish() for a version the job created.
        self.activation_candidate: ModelVersion | None = None
        # Jobs to launch once this one succeeded and its version's activation was decided.
        self.follow_ups: list[tuple[str, dict[str, Any]]] = []
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._lost = False
        self._dirty = True
        self._log: list[str] = []
        self._history: list[dict[str, Any]] = []
        self._stage = ("", 0.0, 1.0)  # name, global start, global end
        self._stage_started = self.started
        self._state: dict[str, Any] = {
            "progress": 0.0,
            "step": 0,
            "total_steps": 0,
            "epoch": 0,
            "loss": None,
            "throughput": None,
            "eta_seconds": None,
            "message": "",
        }
        self._point: dict[str, Any] | None = None

    # ------------------------------------------------------------------ reporting
    def log(self, message: str) -> None:
        """Append a timestamped line to the job's log (written with the next flush)."""
        line = f"{timezone.now():%H:%M:%S} {message}"
        logger.info("job %s: %s", self.job_id, message)
        with self._lock:
            self._log.append(line)
            if len(self._log) > MAX_LOG_LINES:
                del self._log[: len(self._log) - MAX_LOG_LINES]
            self._dirty = True

    def message(self, text: str) -> None:
        """Set the one-line status shown next to the progress bar."""
        with self._lock:
            self._state["message"] = text[:500]
            self._dirty = True

    @contextlib.contextmanager
    def stage(self, name: str, start: float, end: float) -> Iterator[None]:
        """Map the progress reported inside to ``[start, end]`` of the whole job; time it."""
        began = time.monotonic()
        with self._lock:
            self._stage = (name, start, end)
            self._stage_started = began
            self._state["message"] = name
            self._state["progress"] = max(self._state["progress"], start)
            self._dirty = True
        self.log(f"{name}…")
        try:
            yield
        finally:
            elapsed = time.monotonic() - began
            self.timings[f"{name}_s"] = round(self.timings.get(f"{name}_s", 0.0) + elapsed, 3)
            with self._lock:
                self._state["progress"] = max(self._state["progress"], end)
                self._dirty = True

    def progress(
        self,
        fraction: float,
        step: int,
        total_steps: int,
        loss: float | None,
        extra: dict[str, Any],
    ) -> None:
        """A ``training.ml.progress.ProgressCallback``: safe from any thread, never blocks on I/O."""
        now = time.monotonic()
        with self._lock:
            name, start, end = self._stage
            fraction = min(max(float(fraction), 0.0), 1.0)
            overall = start + (end - start) * fraction
            state = self._state
            state["progress"] = max(state["progress"], overall)
            state["step"], state["total_steps"] = int(step), int(total_steps)
            if "epoch" in extra:
                state["epoch"] = int(extra["epoch"])
            if loss is not None and math.isfinite(loss):
                state["loss"] = float(loss)
            elapsed_stage = now - self._stage_started
            throughput = next(
                (
                    extra[k]
                    for k in ("throughput", "pairs_per_sec", "examples_per_sec")
                    if extra.get(k)
                ),
                None,
            )
            if throughput is None and elapsed_stage > 0 and step:
                throughput = step / elapsed_stage
            state["throughput"] = float(throughput) if throughput else None
            elapsed = now - self.started
            progress = state["progress"]
            state["eta_seconds"] = elapsed * (1 - progress) / progress if progress > 0.01 else None
            point = {
                "t": round(elapsed, 2),
                "stage": name,
                "fraction": round(progress, 4),
                "step": int(step),
            }
            if loss is not None and math.isfinite(loss):
                point["loss"] = float(loss)
            if state["throughput"]:
                point["throughput"] = round(state["throughput"], 2)
            for key, value in extra.items():
                if (
                    key not in ("epoch", "throughput", "pairs_per_sec", "examples_per_sec")
                    and isinstance(value, int | float)
                    and math.isfinite(value)
                ):
                    point[key] = value
            self._point = point
            self._dirty = True

    def record_point(self, **values: float) -> None:
        """Add a chart point now (e.g. a validation metric after an epoch)."""
        with self._lock:
            point = {"t": round(time.monotonic() - self.started, 2), "stage": self._stage[0]}
            point.update({k: float(v) for k, v in values.items()})
            self._history.append(point)
            self._dirty = True

    # ------------------------------------------------------------------ cancellation
    def should_cancel(self) -> bool:
        """A ``training.ml.progress.CancelCheck``: True once a cancel (or loss of the row) was seen."""
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            if self._lost:
                raise JobLost("the job is no longer running (reaped as stale or removed)")
            raise JobCancelled("cancelled by request")

    # ------------------------------------------------------------------ versions and artifacts
    def create_version(self, **fields: Any) -> ModelVersion:
        """A new version in status ``training``, owned by this job: discarded (row, vectors,
        index, artifact directory) unless the job succeeds."""
        fields.setdefault("status", ModelVersion.Status.TRAINING)
        if self.params.get("exclude_flagged"):
            # The split is re-derived from this (evaluate): the same rows must be left out.
            fields["dataset_snapshot"] = {
                **fields.get("dataset_snapshot", {}),
                "exclude_flagged": True,
            }
        version = ModelVersion.objects.create(job_id=self.job_id, created_by=self.user, **fields)
        self.created_version_ids.append(version.pk)
        self.log(f"created {version.task} version #{version.pk} ({version.name})")
        return version

    @staticmethod
    def artifact_path(version: ModelVersion) -> Path:
        """Where a version's artifact lives: ``ARTIFACTS_DIR/<task>/v<id>`` (stored relative)."""
        relative = f"{version.task}/v{version.pk}"
        if version.artifact_dir != relative:
            version.artifact_dir = relative
            version.save(update_fields=["artifact_dir"])
        return Path(settings.ARTIFACTS_DIR) / relative

    def finish(self, version: ModelVersion | None, metrics: dict[str, Any]) -> None:
        """The last step of every runner: ``metrics`` and ``version`` become the job's result
        (``services.job_run`` writes them with the final status), and a version this job created
        keeps the metrics as its own. A version the job only used (embedded, evaluated) is not
        changed here.

        When the kind declares a version policy, the version this job created is the one the
        activation policy judges (``training.activation``) once the job has succeeded: the
        first sane version of a task becomes active; a later one with ``promote_if_better``
        replaces the active one when it is better on the same split."""
        if version is not None and version.pk in self.created_version_ids:
            version.metrics = metrics
            version.save(update_fields=["metrics"])
            if self.kind.produces_versions:
                self.activation_candidate = version
        self.metrics = metrics
        self.result_version = version

    def then_launch(self, kind: str, params: dict[str, Any]) -> None:
        """Launch a job of ``kind`` (as this job's user) once this one has succeeded and the
        activation policy has judged its version, so the follow-up sees what is served."""
        self.follow_ups.append((kind, dict(params)))

    def set_device(self, info: DeviceInfo) -> None:
        self.device_info = info
        self.log(f"device: {info.name}")

    # ------------------------------------------------------------------ row updates
    def snapshot(self, *, full: bool = False) -> dict[str, Any] | None:
        """Fields to write, or None when nothing changed since the last write. ``full``: every
        field even when nothing changed (the final write: a monitor write that found no row to
        update, such as one racing the job row's commit, must not lose the history it took)."""
        with self._lock:
            if not self._dirty and not full:
                return None
            self._dirty = False
            if self._point is not None:
                self._history.append(self._point)
                self._point = None
                if len(self._history) > MAX_HISTORY_POINTS:
                    self._history = self._history[::2]
            fields = dict(self._state)
            fields["log"] = "\n".join(self._log)
            fields["metrics_history"] = list(self._history)
            if self.device_info is not None:
                fields["device"] = self.device_info.name[:64]
            return fields

    def mark_lost(self) -> None:
        self._lost = True
        self._cancel.set()

    def request_cancel(self) -> None:
        self._cancel.set()


class Monitor(threading.Thread):
    """Heartbeat, throttled progress writes and cancel polling, from a thread of its own."""

    def __init__(self, ctx: JobContext) -> None:
        super().__init__(name=f"job-{ctx.job_id}-monitor", daemon=True)
        self.ctx = ctx
        self.heartbeat_every = max(float(settings.JOB_HEARTBEAT_SECONDS), 0.1)
        self.tick = min(FLUSH_SECONDS, self.heartbeat_every)
        self._stop_event = threading.Event()
        self._last_beat = time.monotonic()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.tick):
                try:
                    self.beat()
                except Exception:  # a database hiccup must not kill the job; the next tick retries
                    logger.exception("job %s: monitor update failed", self.ctx.job_id)
                    close_old_connections()
        finally:
            connection.close()

    def beat(self) -> None:
        ctx = self.ctx
        fields = ctx.snapshot() or {}
        now = time.monotonic()
        if fields or now - self._last_beat >= self.heartbeat_every:
            fields["heartbeat_at"] = timezone.now()
            self._last_beat = now
            updated = Job.objects.filter(pk=ctx.job_id, status=Job.Status.RUNNING).update(**fields)
            if (
                not updated
                and Job.objects.filter(pk=ctx.job_id).exclude(status=Job.Status.RUNNING).exists()
            ):
                ctx.mark_lost()
                return
        row = Job.objects.filter(pk=ctx.job_id).values_list("cancel_requested", flat=True).first()
        if row:
            ctx.request_cancel()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)


def remove_artifact_dir(relative: str) -> None:
    """Delete an artifact directory and its scratch siblings (``.tmp`` / ``.old``)."""
    if not relative:
        return
    root = Path(settings.ARTIFACTS_DIR)
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        return  # never delete outside ARTIFACTS_DIR
    for candidate in (path, path.with_name(path.name + ".tmp"), path.with_name(path.name + ".old")):
        if candidate.exists():
            shutil.rmtree(candidate, ignore_errors=True)
