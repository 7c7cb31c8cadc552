"""Writes of scheduled retraining: save a schedule, launch the due ones (beat, every minute).

A schedule launches its kind through ``services.job_launch`` as the schedule's creator, so
parameter validation, the course gate and the audit log are those of any launch. It never
launches while the job it launched last is still queued or running: it waits for that job and
launches once it has finished. When to run is ``training.schedule_times`` (pure functions).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from platform_core.services import audit_record
from training import schedule_times, services
from training.jobs import get_job_kind, validate_params
from training.models import Job, JobSchedule

logger = logging.getLogger(__name__)

OPEN = (Job.Status.QUEUED, Job.Status.RUNNING)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def launch_params(schedule: JobSchedule) -> dict[str, Any]:
    """The schedule's parameters, with ``promote_if_better`` for kinds that produce a version."""
    params = dict(schedule.params or {})
    if get_job_kind(schedule.kind).produces_versions:
        params["promote_if_better"] = bool(schedule.promote_if_better)
    return params


def schedule_check(schedule: JobSchedule) -> None:
    """Raise ``ValidationError`` (by field) unless the schedule can launch its kind."""
    errors: dict[str, list[str]] = {}
    if not isinstance(schedule.params, dict):
        raise ValidationError({"params": ['a JSON object of parameters, e.g. {"k": 20}.']})
    if schedule.frequency == JobSchedule.Frequency.WEEKLY and schedule.weekday is None:
        errors["weekday"] = ["a weekly schedule needs a weekday."]
    try:
        kind = get_job_kind(schedule.kind)
    except ValidationError as exc:
        errors["kind"] = exc.messages
    else:
        if schedule.promote_if_better and not kind.produces_versions:
            errors["promote_if_better"] = [
                f"{kind.name} produces no model version: there is nothing to promote."
            ]
        try:
            clean = validate_params(kind, launch_params(schedule))
        except ValidationError as exc:
            errors["params"] = [
                f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()
            ]
        else:  # keep what the operator gave, converted; the kind's defaults stay defaults
            schedule.params = {k: v for k, v in clean.items() if k in (schedule.params or {})}
    if errors:
        raise ValidationError(errors)


def schedule_save(*, schedule: JobSchedule, user) -> JobSchedule:
    """Create or change a schedule (validated, audited). A new, re-enabled or re-timed one
    launches from its next occurrence on, never for a time already past."""
    schedule_check(schedule)
    created = schedule.pk is None
    before = None if created else JobSchedule.objects.filter(pk=schedule.pk).first()
    if before is not None and (
        (schedule.enabled and not before.enabled)
        or (before.frequency, before.weekday, before.at)
        != (schedule.frequency, schedule.weekday, schedule.at)
    ):
        # re-enabled or re-timed: from the next occurrence on, not for one already past
        schedule.last_due_at = timezone.now()
    if created and schedule.created_by_id is None and getattr(user, "pk", None):
        schedule.created_by = user
    schedule.save()
    audit_record(
        actor=user,
        action="schedule.create" if created else "schedule.change",
        obj=schedule,
        details={
            "kind": schedule.kind,
            "params": schedule.params,
            "frequency": schedule.frequency,
            "weekday": schedule.weekday,
            "at": schedule.at.isoformat(),
            "promote_if_better": schedule.promote_if_better,
            "enabled": schedule.enabled,
        },
    )
    return schedule


def next_run(schedule: JobSchedule, now: datetime | None = None) -> datetime:
    """When the schedule launches next (for the admin)."""
    return schedule_times.next_occurrence(
        now or timezone.now(),
        frequency=schedule.frequency,
        at=schedule.at,
        weekday=schedule.weekday,
        tz=_tz(),
    )


def _due(schedule: JobSchedule, now: datetime) -> datetime | None:
    return schedule_times.due_occurrence(
        now,
        since=schedule.last_due_at or schedule.created_at,
        frequency=schedule.frequency,
        at=schedule.at,
        weekday=schedule.weekday,
        tz=_tz(),
    )


def _launcher_refusal(schedule: JobSchedule) -> str:
    """Why the schedule's launcher may not launch its jobs now ("" when they may)."""
    user = schedule.created_by
    if user is None:
        return "the schedule has no launcher (their account was deleted); save it again"
    if not user.is_active:
        return f"its launcher {user} is no longer active"
    if not user.has_perm("training.add_job"):
        return f"its launcher {user} may not launch jobs (permission training.add_job)"
    return ""


def schedules_launch_due(*, now: datetime | None = None) -> list[int]:
    """Launch every enabled schedule that is due and whose last job has finished; returns the
    ids of the jobs launched. Rows are locked with SKIP LOCKED, so two beats never launch the
    same occurrence twice. A launch that the launch service refuses (parameters no longer
    valid, the launcher's permission or the course gate) is recorded on the schedule and audited,
    not retried every minute."""
    now = now or timezone.now()
    launched = []
    for schedule_id in JobSchedule.objects.filter(enabled=True).values_list("pk", flat=True):
        with transaction.atomic():
            schedule = (
                JobSchedule.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("created_by")
                .filter(pk=schedule_id, enabled=True)
                .first()
            )
            if schedule is None:
                continue
            occurrence = _due(schedule, now)
            if occurrence is None:
                continue
            busy = schedule.jobs.filter(status__in=OPEN).order_by("-pk").first()
            if busy is not None:
                message = f"due since {occurrence:%Y-%m-%d %H:%M %Z}; waiting for job #{busy.pk} ({busy.status})"
                if schedule.last_message != message:
                    schedule.last_message = message
                    schedule.save(update_fields=["last_message"])
                continue
            schedule.last_due_at = occurrence
            try:
                refusal = _launcher_refusal(schedule)
                if refusal:
                    raise PermissionDenied(refusal)
                with transaction.atomic():
                    job = services.job_launch(
                        kind=schedule.kind,
                        params=launch_params(schedule),
                        user=schedule.created_by,
                        schedule=schedule,
                    )
            except (ValidationError, PermissionDenied) as exc:
                reason = " ".join(getattr(exc, "messages", None) or [str(exc)])
                schedule.last_message = f"not launched at {occurrence:%Y-%m-%d %H:%M %Z}: {reason}"[
                    :500
                ]
                schedule.save(update_fields=["last_due_at", "last_message"])
                audit_record(
                    actor=None,
                    action="schedule.launch_refused",
                    obj=schedule,
                    details={"occurrence": occurrence.isoformat(), "reason": reason},
                )
                logger.warning("schedule %s not launched: %s", schedule.pk, reason)
                continue
            schedule.last_job = job
            schedule.last_message = f"launched job #{job.pk} at {now:%Y-%m-%d %H:%M %Z}"
            schedule.save(update_fields=["last_due_at", "last_job", "last_message"])
            launched.append(job.pk)
    return launched
