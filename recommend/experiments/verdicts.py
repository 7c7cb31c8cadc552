"""The verdict cache: each running experiment's results, computed by beat, read by dashboards.

``experiment_results`` (selectors) scans the experiment's exposures and the events attributed to
them — too slow for a page that lists every running experiment, and a GET must only read. Beat
runs :func:`experiment_verdicts_refresh` every ``EXPERIMENT_VERDICT_MINUTES`` and stores a summary
per running experiment in ``ExperimentVerdict``: the outcome and its sentence, the recommended
variant, units and exposures, and the sample-ratio-mismatch check. One experiment whose analysis
fails records its error and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.utils import timezone

from recommend.experiments import selectors
from recommend.experiments.models import Experiment, ExperimentVerdict

logger = logging.getLogger(__name__)


def _summary(experiment: Experiment) -> dict:
    results = selectors.experiment_results(experiment)
    found = results.analysis
    if found is None:
        return {
            "outcome": "",
            "sentence": results.message,
            "recommended_variant": "",
            "units": results.units,
            "exposures": results.exposures,
            "units_required": experiment.min_sample_size or None,
            "srm_p_value": None,
            "srm_mismatch": None,
            "error": "",
        }
    return {
        "outcome": found.outcome,
        "sentence": found.sentence,
        "recommended_variant": found.recommended or "",
        "units": results.units,
        "exposures": results.exposures,
        "units_required": found.required_n or experiment.min_sample_size or None,
        "srm_p_value": found.srm.p_value if found.srm is not None else None,
        "srm_mismatch": found.srm.mismatch if found.srm is not None else None,
        "error": "",
    }


def experiment_verdict_refresh(*, experiment: Experiment, now: datetime | None = None):
    """Compute one experiment's results and store its summary (returns the row)."""
    started = time.perf_counter()
    try:
        values = _summary(experiment)
    except Exception as exc:  # one broken analysis must not hide the other experiments
        logger.exception("experiment %s: results failed", experiment.pk)
        values = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    values["compute_ms"] = (time.perf_counter() - started) * 1000
    values["computed_at"] = now or timezone.now()
    row, _ = ExperimentVerdict.objects.update_or_create(experiment=experiment, defaults=values)
    return row


def experiment_verdicts_refresh(*, now: datetime | None = None) -> int:
    """Refresh the cached verdict of every running experiment; the number refreshed."""
    running = Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("pk")
    count = 0
    for experiment in running:
        experiment_verdict_refresh(experiment=experiment, now=now)
        count += 1
    return count
