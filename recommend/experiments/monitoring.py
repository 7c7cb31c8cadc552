"""The experiments' alert rule: a sample ratio mismatch in a running experiment.

Units per variant come from the assignments (one row per unit, recorded at its first exposure:
the units the analysis counts) and go through the analysis' own test,
:func:`recommend.experiments.logic.stats.srm_check`; one grouped count per running experiment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count

from platform_core import alerts
from recommend.experiments.logic.stats import srm_check

SRM_P_VALUE = 0.001  # srm_check's own convention


def srm_findings(*, now: datetime, window: timedelta) -> list[alerts.Finding]:
    """Each running experiment's SRM p-value (lower is worse)."""
    from recommend.experiments.models import Assignment, Experiment, Variant

    findings = []
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING):
        variants = list(Variant.objects.filter(experiment=experiment).order_by("pk"))
        if len(variants) < 2:
            continue
        units = dict(
            Assignment.objects.filter(experiment=experiment)
            .values_list("variant_id")
            .annotate(n=Count("id"))
        )
        observed = [units.get(v.pk, 0) for v in variants]
        if sum(observed) == 0 or sum(v.share for v in variants) <= 0:
            continue
        srm = srm_check(observed, [v.share for v in variants])
        split = ", ".join(f"{v.key} {n}" for v, n in zip(variants, observed, strict=True))
        findings.append(
            (
                f"experiment:{experiment.name}",
                srm.p_value,
                f"Experiment “{experiment.name}”: units split {split} against planned shares "
                f"{', '.join(f'{v.share:g}' for v in variants)} (SRM p = {srm.p_value:.2g}). "
                "Assignment or logging is broken: its results cannot be trusted until fixed.",
            )
        )
    return findings


def register() -> None:
    alerts.register_rule(
        "experiment_srm",
        title="Sample ratio mismatch in a running experiment",
        evaluate=srm_findings,
        default_threshold=SRM_P_VALUE,
        comparison="<",
        unit="p-value",
        description="The chi-square test of the units per variant against the planned shares; "
        "a p-value below the threshold means traffic did not split as planned.",
        severity="critical",
    )
