"""Writes for A/B experiments: create, start, stop, ship; exposures and assignments.

Start, stop and ship need the ``operator`` role; start and ship also pass the Academy's course
gate (``courses.gate``) when ``PROMOTION_REQUIRED_COURSE`` is set (never stop: stopping a bad
experiment must always be possible). Every action is audited and bumps the serving config
generation, so serving picks the change up on its next request.

Exposures never touch the database in the request: :func:`exposure_record` pushes a row onto a
Redis buffer (``recommend.buffers.EXPOSURE``) and :func:`exposures_flush` (``recommend.tasks.flush_exposures``, every 5 s) writes
them in batches together with each unit's first assignment.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from platform_core.services import audit_record
from recommend.experiments.logic.assignment import validate_allocation
from recommend.serving.cache import bump_config_generation

logger = logging.getLogger(__name__)

EXPOSURE_FLUSH_BATCH = 2000


@dataclass(frozen=True)
class VariantSpec:
    """A variant to create: ``strategy`` is a Strategy (or its id); share in percent."""

    key: str
    strategy: Any
    share: float
    is_control: bool = False


# --------------------------------------------------------------------------- checks


def _require_operator(actor, action: str, perm: str = "experiments.change_experiment") -> None:
    """Operators run experiments; so does a user who holds ``perm`` — in practice a learner
    in the Academy's A/B-test lab, whose lab group grants it until the lab ends. An analyst
    (view permissions) or a learner outside that lab is refused."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not (actor.has_role("operator") or actor.has_perm(perm))
    ):
        raise PermissionDenied(f"Only operators may {action}.")


def _course_gate(actor, action: str) -> None:
    from courses.gate import check_course_gate

    check_course_gate(actor, action=action)


def _config_changed() -> None:
    from recommend.experiments.selectors import clear_running_cache

    bump_config_generation()
    clear_running_cache()


def _after_commit_config_changed() -> None:
    _config_changed()  # this connection's next request sees the change at once ...
    transaction.on_commit(_config_changed)  # ... and other processes once it commits


def experiment_validate(*, experiment, variants: Sequence[VariantSpec | Any]) -> None:
    """Raise ``ValidationError`` unless the experiment and its variants make a valid test:
    at least two variants with unique keys, exactly one control, strategies of the
    experiment's surface, and variant shares plus the holdout summing to 100."""
    errors: list[str] = []
    if len(variants) < 2:
        errors.append("An experiment needs at least two variants (a control and one to compare).")
    controls = [v for v in variants if v.is_control]
    if len(controls) != 1:
        errors.append(f"Mark exactly one variant as the control (now {len(controls)}).")
    for v in variants:
        strategy = v.strategy
        surface = getattr(strategy, "surface", None)
        if surface is not None and surface != experiment.surface:
            errors.append(
                f"Variant “{v.key}” uses strategy “{strategy.name}” of the {surface} surface; "
                f"this experiment runs on {experiment.surface}."
            )
    try:
        validate_allocation(
            [(v.key, float(v.share)) for v in variants], float(experiment.holdout_percent or 0)
        )
    except ValueError as exc:
        message = str(exc)
        if "sum to 100" in message:
            total = sum(float(v.share) for v in variants) + float(experiment.holdout_percent or 0)
            message = (
                f"Variant shares plus the holdout must sum to 100% (now {total:g}%: "
                + " + ".join(f"{v.key} {float(v.share):g}" for v in variants)
                + f" + holdout {float(experiment.holdout_percent or 0):g})."
            )
        errors.append(message[0].upper() + message[1:])
    if errors:
        raise ValidationError(errors)


def sample_size_for(experiment) -> int:
    """Units per variant from the built-in calculator (0 when the inputs are out of range)."""
    from recommend.experiments.selectors import sample_size_or_none

    return (
        sample_size_or_none(
            experiment.baseline_rate,
            experiment.minimum_detectable_effect,
            experiment.power,
            experiment.alpha,
        )
        or 0
    )


# --------------------------------------------------------------------------- lifecycle


@transaction.atomic
def experiment_create(
    *,
    name: str,
    surface: str,
    hypothesis: str,
    variants: Sequence[VariantSpec],
    primary_metric: str = "ctr",
    guardrails: Sequence[str] | None = None,
    guardrail_tolerance: float = 0.0,
    latency_tolerance: float = 0.5,
    holdout_percent: float = 0.0,
    baseline_rate: float = 0.1,
    minimum_detectable_effect: float = 0.1,
    power: float = 0.8,
    alpha: float = 0.05,
    sequential: bool = True,
    cuped_days: int = 14,
    salt: str = "",
    actor=None,
):
    """Create a draft experiment with its variants (validated; audited). ``salt`` fixes the
    assignment hash's seed (default: a random one when the experiment starts)."""
    from recommend.experiments.models import Experiment, Variant, default_guardrails
    from recommend.models import Strategy

    _require_operator(actor, "create experiments", "experiments.add_experiment")
    resolved = [
        VariantSpec(
            key=v.key,
            share=v.share,
            is_control=v.is_control,
            strategy=v.strategy
            if isinstance(v.strategy, Strategy)
            else Strategy.objects.get(pk=v.strategy),
        )
        for v in variants
    ]
    experiment = Experiment(
        name=name,
        surface=surface,
        hypothesis=hypothesis,
        primary_metric=primary_metric,
        guardrails=list(default_guardrails() if guardrails is None else guardrails),
        guardrail_tolerance=guardrail_tolerance,
        latency_tolerance=latency_tolerance,
        holdout_percent=holdout_percent,
        baseline_rate=baseline_rate,
        minimum_detectable_effect=minimum_detectable_effect,
        power=power,
        alpha=alpha,
        sequential=sequential,
        cuped_days=cuped_days,
        salt=salt,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    experiment.full_clean(exclude=["winner"])
    experiment_validate(experiment=experiment, variants=resolved)
    experiment.min_sample_size = sample_size_for(experiment)
    experiment.save()
    Variant.objects.bulk_create(
        [
            Variant(
                experiment=experiment,
                key=v.key,
                strategy=v.strategy,
                share=v.share,
                is_control=v.is_control,
            )
            for v in resolved
        ]
    )
    audit_record(
        actor=actor,
        action="experiment.create",
        obj=experiment,
        details={
            "surface": surface,
            "variants": {v.key: [v.strategy.name, v.share] for v in resolved},
            "holdout_percent": holdout_percent,
            "primary_metric": primary_metric,
        },
    )
    return experiment


def experiment_save_draft(*, experiment, actor, created: bool, changed: Sequence[str] = ()) -> None:
    """Save a draft edited in the admin: the sample size from the calculator, audited."""
    _require_operator(actor, "edit experiments")
    if not experiment.is_editable and not created:
        raise ValidationError(f"Only a draft can be edited; “{experiment}” is {experiment.status}.")
    experiment.min_sample_size = sample_size_for(experiment)
    if created and getattr(actor, "pk", None):
        experiment.created_by = actor
    experiment.save()
    audit_record(
        actor=actor,
        action="experiment.create" if created else "experiment.update",
        obj=experiment,
        details={"changed": list(changed)},
    )


def experiment_delete(*, experiment, actor) -> None:
    """Delete a draft (experiments that served traffic are kept for the record)."""
    _require_operator(actor, "delete experiments", "experiments.delete_experiment")
    if experiment.status != experiment.Status.DRAFT:
        raise ValidationError(f"Only drafts can be deleted; “{experiment}” is {experiment.status}.")
    audit_record(actor=actor, action="experiment.delete", obj=experiment)
    experiment.delete()


def _running_on(surface: str, *, exclude_pk: int | None = None):
    from recommend.experiments.models import Experiment

    qs = Experiment.objects.filter(surface=surface, status=Experiment.Status.RUNNING)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _two_running_message(experiment, other) -> str:
    since = f" since {other.started_at:%Y-%m-%d %H:%M}" if other.started_at else ""
    return (
        f"Cannot start “{experiment}”: experiment “{other}” is already running on the {experiment.surface} "
        f"surface{since}. Only one experiment may run per surface (their traffic would overlap); "
        "stop it first."
    )


def experiment_start(*, experiment, actor):
    """Draft → running: fix the assignment salt and start serving the variants."""
    from recommend.experiments.models import Experiment

    _require_operator(actor, "start experiments")
    _course_gate(actor, "start an experiment")
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status != Experiment.Status.DRAFT:
            raise ValidationError(f"Only a draft can be started; “{locked}” is {locked.status}.")
        experiment_validate(
            experiment=locked, variants=list(locked.variants.select_related("strategy"))
        )
        other = _running_on(locked.surface, exclude_pk=locked.pk)
        if other is not None:
            raise ValidationError(_two_running_message(locked, other))
        locked.salt = locked.salt or f"exp{locked.pk}-{secrets.token_hex(6)}"
        locked.status = Experiment.Status.RUNNING
        locked.started_at = timezone.now()
        locked.started_by = actor
        locked.min_sample_size = sample_size_for(locked)
        try:
            with transaction.atomic():
                locked.save(
                    update_fields=["salt", "status", "started_at", "started_by", "min_sample_size"]
                )
        except IntegrityError:  # another experiment started on this surface at the same moment
            other = _running_on(locked.surface, exclude_pk=locked.pk)
            raise ValidationError(
                _two_running_message(locked, other)
                if other
                else "Another experiment is already running on this surface."
            ) from None
        audit_record(
            actor=actor,
            action="experiment.start",
            obj=locked,
            details={
                "surface": locked.surface,
                "salt": locked.salt,
                "variants": {v.key: v.share for v in locked.variants.all()},
                "holdout_percent": locked.holdout_percent,
            },
        )
        _after_commit_config_changed()
    _copy(locked, experiment)
    return experiment


def _conclusion(experiment) -> tuple[str, Any]:
    from recommend.experiments.selectors import experiment_results

    results = experiment_results(experiment)
    if results.analysis is None:
        return results.message, results
    return f"{results.analysis.outcome}: {results.analysis.sentence}", results


def experiment_stop(*, experiment, actor):
    """Running → stopped: serving returns to the surface's default strategy; the results so
    far are recorded as the conclusion. No course gate."""
    from recommend.experiments.models import Experiment

    _require_operator(actor, "stop experiments")
    if experiment.status != Experiment.Status.RUNNING:
        raise ValidationError(
            f"Only a running experiment can be stopped; “{experiment}” is {experiment.status}."
        )
    exposures_flush()  # what serving queued before the stop belongs in the conclusion
    conclusion, _ = _conclusion(experiment)
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status != Experiment.Status.RUNNING:
            raise ValidationError(
                f"Only a running experiment can be stopped; “{locked}” is {locked.status}."
            )
        _stop(locked, actor=actor, conclusion=conclusion)
    _copy(locked, experiment)
    return experiment


def _stop(locked, *, actor, conclusion: str) -> None:
    locked.status = locked.Status.STOPPED
    locked.stopped_at = timezone.now()
    locked.stopped_by = actor
    locked.conclusion = conclusion
    locked.save(update_fields=["status", "stopped_at", "stopped_by", "conclusion"])
    audit_record(
        actor=actor, action="experiment.stop", obj=locked, details={"conclusion": conclusion}
    )
    _after_commit_config_changed()


def experiment_ship(*, experiment, actor, variant=None):
    """Running or stopped → shipped: ``variant`` (default: the winner the results declare)
    becomes the winner and its strategy the surface's default; a running experiment is
    stopped first. Shipping against the verdict (another variant, or when no winner was
    declared) needs ``variant`` given explicitly, and the audit entry says so."""
    from recommend.experiments.models import Experiment
    from recommend.services import strategy_make_default

    _require_operator(actor, "ship experiments")
    _course_gate(actor, "ship an experiment")
    if experiment.status not in (Experiment.Status.RUNNING, Experiment.Status.STOPPED):
        raise ValidationError(
            f"Only a running or stopped experiment can be shipped; “{experiment}” is "
            f"{experiment.status}."
        )
    exposures_flush()
    conclusion, results = _conclusion(experiment)
    recommended = results.recommended_variant_id
    if variant is None and recommended is None:
        outcome = results.analysis.outcome if results.analysis else "no results"
        raise ValidationError(
            f"No winner to ship ({outcome}). Choose the variant to ship explicitly — for "
            "example keep the control — or let the experiment collect more data."
        )
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status == Experiment.Status.RUNNING:
            _stop(locked, actor=actor, conclusion=conclusion)
        elif locked.status != Experiment.Status.STOPPED:
            raise ValidationError(
                f"Only a running or stopped experiment can be shipped; “{locked}” is "
                f"{locked.status}."
            )
        chosen = locked.variants.select_related("strategy").get(
            pk=recommended if variant is None else getattr(variant, "pk", variant)
        )
        strategy_make_default(strategy=chosen.strategy, actor=actor)
        locked.status = Experiment.Status.SHIPPED
        locked.winner = chosen
        locked.shipped_at = timezone.now()
        locked.shipped_by = actor
        locked.conclusion = conclusion
        locked.save(update_fields=["status", "winner", "shipped_at", "shipped_by", "conclusion"])
        audit_record(
            actor=actor,
            action="experiment.ship",
            obj=locked,
            details={
                "winner": chosen.key,
                "strategy": chosen.strategy.name,
                "surface": locked.surface,
                "against_verdict": chosen.pk != recommended,
                "conclusion": conclusion,
            },
        )
        _after_commit_config_changed()
    _copy(locked, experiment)
    return experiment


def _copy(source, target) -> None:
    if source is not target:
        for f in source._meta.concrete_fields:
            setattr(target, f.attname, getattr(source, f.attname))


# --------------------------------------------------------------------------- exposures


def exposure_record(*, ctx, body: dict[str, Any], measured: bool = True) -> None:
    """Queue one served response of an experiment surface (called by the API view; free when
    the request is not in an experiment). ``ctx`` is the serving context (request id,
    variant, shopper, session, served time, timings)."""
    if not measured or not getattr(ctx, "variant", None):
        return
    try:
        exposure_push(
            surface=ctx.surface,
            variant_key=ctx.variant,
            request_id=ctx.request_id,
            shopper=ctx.shopper,
            session=ctx.session,
            external_id=ctx.shopper_external_id,
            timestamp=ctx.now,
            latency_ms=float(ctx.timings.get("total", 0.0)),
            result_count=int(body["total"]) if "total" in body else len(body.get("results") or []),
        )
    except Exception:  # an experiment must never fail a response
        logger.warning("exposure could not be queued", exc_info=True)


def exposure_push(
    *,
    surface: str,
    variant_key: str,
    request_id: str,
    shopper,
    session: str,
    external_id: str | None = None,
    timestamp: datetime | None = None,
    latency_ms: float = 0.0,
    result_count: int = 0,
) -> bool:
    """Queue an exposure for :func:`exposures_flush`; False when nothing runs on the surface
    or the variant is unknown (the experiment stopped in between)."""
    from recommend.experiments.selectors import experiment_unit, running_experiments

    experiment = running_experiments().get(surface)
    variant = experiment.variant(variant_key) if experiment else None
    unit = experiment_unit(shopper, session, external_id=external_id)
    if variant is None or unit is None:
        return False
    row = {
        "experiment_id": experiment.id,
        "variant_id": variant.id,
        "unit_type": unit[0],
        "unit_id": unit[1],
        "shopper_id": getattr(shopper, "id", None),
        "session": (session or "")[:128],
        "request_id": str(request_id)[:64],
        "timestamp": (timestamp or datetime.now(UTC)).isoformat(),
        "latency_ms": round(float(latency_ms), 3),
        "result_count": int(result_count),
    }
    from recommend.buffers import EXPOSURE

    if EXPOSURE.push(row) == "failed":
        logger.warning("exposure buffer unreachable; writing directly")
        try:
            _exposures_write([row])
        except Exception:  # an experiment must never fail a response
            logger.exception(
                "exposure %s could not be written (Redis and the database refused it)",
                row["request_id"],
            )
    return True


def exposures_pending() -> int:
    from recommend.buffers import EXPOSURE

    return EXPOSURE.pending()


def _exposures_write(rows: list[dict[str, Any]]) -> int:
    """Insert exposures and first assignments (``ON CONFLICT DO NOTHING`` on both: a re-queued
    batch, or two processes assigning the same unit, cannot duplicate a row)."""
    from catalog.models import Shopper
    from recommend.experiments.models import Assignment, Exposure, Variant

    variant_ids = set(
        Variant.objects.filter(pk__in={r["variant_id"] for r in rows}).values_list("pk", flat=True)
    )
    # a shopper unknown when served (their first request came before their first event) is
    # linked now if their events have made them known since: window attribution needs the id
    unlinked = {
        r["unit_id"] for r in rows if r["unit_type"] == "shopper" and not r.get("shopper_id")
    }
    if unlinked:
        linked = dict(
            Shopper.objects.filter(external_id__in=unlinked).values_list("external_id", "pk")
        )
        for r in rows:
            if r["unit_type"] == "shopper" and not r.get("shopper_id"):
                r["shopper_id"] = linked.get(r["unit_id"])
    shopper_ids = {r["shopper_id"] for r in rows if r.get("shopper_id")}
    existing = (
        set(Shopper.objects.filter(pk__in=shopper_ids).values_list("pk", flat=True))
        if shopper_ids
        else set()
    )
    exposures, firsts = [], {}
    for r in rows:
        # a stopped-and-deleted draft cannot be here, but a forgotten shopper can: drop their rows
        if r["variant_id"] not in variant_ids or (
            r.get("shopper_id") and r["shopper_id"] not in existing
        ):
            continue
        ts = (
            datetime.fromisoformat(r["timestamp"])
            if isinstance(r["timestamp"], str)
            else r["timestamp"]
        )
        exposures.append(
            Exposure(
                experiment_id=r["experiment_id"],
                variant_id=r["variant_id"],
                unit_type=r["unit_type"],
                unit_id=r["unit_id"][:128],
                shopper_id=r.get("shopper_id"),
                session=r.get("session", ""),
                request_id=r["request_id"],
                timestamp=ts,
                latency_ms=r.get("latency_ms", 0.0),
                result_count=r.get("result_count", 0),
            )
        )
        key = (r["experiment_id"], r["unit_type"], r["unit_id"])
        if key not in firsts or ts < firsts[key].assigned_at:
            firsts[key] = Assignment(
                experiment_id=r["experiment_id"],
                variant_id=r["variant_id"],
                unit_type=r["unit_type"],
                unit_id=r["unit_id"][:128],
                shopper_id=r.get("shopper_id"),
                assigned_at=ts,
            )
    _freeze_segments(list(firsts.values()))
    with transaction.atomic():
        Assignment.objects.bulk_create(
            list(firsts.values()), ignore_conflicts=True, batch_size=1000
        )
        Exposure.objects.bulk_create(exposures, ignore_conflicts=True, batch_size=1000)
    return len(exposures)


def exposures_flush(*, max_rows: int = 200_000) -> int:
    """Write queued exposures (claimed batches; a row that cannot be stored goes to the
    dead-letter list and the rest land); returns how many rows were taken from the buffer."""
    from platform_core.buffers import flush
    from recommend.buffers import EXPOSURE

    return flush(
        EXPOSURE, _exposures_write, batch_size=EXPOSURE_FLUSH_BATCH, max_rows=max_rows
    ).taken


def _freeze_segments(assignments: list) -> None:
    """Stamp each new assignment with its shopper's current segment: the first row of a unit
    wins (``ignore_conflicts``), so the segment stays the one it had at first assignment."""
    from recommend.insights.selectors.profiles import segment_names_of

    names = segment_names_of({a.shopper_id for a in assignments})
    for assignment in assignments:
        assignment.segment = names.get(assignment.shopper_id, "")


def assignment_record(
    *,
    experiment,
    variant,
    unit_type: str,
    unit_id: str,
    shopper_id: int | None = None,
    assigned_at: datetime | None = None,
):
    """Record a unit's assignment once (concurrent callers agree on the first row)."""
    from recommend.experiments.models import Assignment
    from recommend.insights.selectors.profiles import segment_names_of

    Assignment.objects.bulk_create(
        [
            Assignment(
                experiment=experiment,
                variant=variant,
                unit_type=unit_type,
                unit_id=unit_id,
                shopper_id=shopper_id,
                assigned_at=assigned_at or timezone.now(),
                segment=segment_names_of([shopper_id]).get(shopper_id, "") if shopper_id else "",
            )
        ],
        ignore_conflicts=True,
    )
    return Assignment.objects.get(experiment=experiment, unit_type=unit_type, unit_id=unit_id)
