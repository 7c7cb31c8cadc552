"""``shopper_forget`` / ``shopper_export`` for experiment assignments and exposures.

Registered on the catalog's hook lists (``catalog.privacy``) when the models load.
"""

from __future__ import annotations

from typing import Any

from catalog import privacy


def forget_experiment_rows(ctx: privacy.ForgetContext) -> dict[str, int]:
    """Delete the shopper's assignments and exposures, or (anonymise) hand them to the
    replacement shopper with the session cleared, so experiment counts stay intact."""
    from recommend.experiments.models import Assignment, Exposure

    shopper = ctx.shopper
    assignments, exposures = _rows_of(Assignment, shopper), _rows_of(Exposure, shopper)
    if ctx.replacement is None:
        return {
            "experiment_exposures": exposures.delete()[0],
            "experiment_assignments": assignments.delete()[0],
        }
    new = ctx.replacement
    return {
        "experiment_exposures": exposures.update(shopper=new, unit_id=new.external_id, session=""),
        "experiment_assignments": assignments.update(shopper=new, unit_id=new.external_id),
    }


def _rows_of(model, shopper):
    """The shopper's rows: linked by id, or assigned by their external id before the shopper
    was known to the database."""
    from recommend.experiments.models import UnitType

    return model.objects.filter(shopper=shopper) | model.objects.filter(
        unit_type=UnitType.SHOPPER, unit_id=shopper.external_id
    )


def export_experiment_rows(shopper) -> dict[str, Any]:
    """The shopper's assignments and exposures (experiment name, variant, times)."""
    from recommend.experiments.models import Assignment, Exposure

    assignments = [
        {"experiment": name, "variant": key, "unit_type": unit_type, "assigned_at": at.isoformat()}
        for name, key, unit_type, at in _rows_of(Assignment, shopper)
        .order_by("assigned_at", "id")
        .values_list("experiment__name", "variant__key", "unit_type", "assigned_at")
    ]
    exposures = [
        {
            "experiment": name,
            "variant": key,
            "request_id": request_id,
            "session": session,
            "timestamp": ts.isoformat(),
            "result_count": count,
        }
        for name, key, request_id, session, ts, count in _rows_of(Exposure, shopper)
        .order_by("timestamp", "id")
        .values_list(
            "experiment__name", "variant__key", "request_id", "session", "timestamp", "result_count"
        )
    ]
    return {"assignments": assignments, "exposures": exposures}


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_experiment_rows)
    privacy.register_export_section("experiments", export_experiment_rows)
