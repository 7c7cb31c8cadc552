"""Work the training app queues after a catalog import (``catalog.import_hooks``): the data
quality report, as a ``data_quality`` job on the cpu queue — never inline in the import."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings

from training.models import Job

if TYPE_CHECKING:
    from catalog.services.report import ImportReport

logger = logging.getLogger(__name__)


def queue_quality_report(report: ImportReport) -> Job | None:
    """Launch a ``data_quality`` job for a finished import, unless one is already waiting in the
    queue (a burst of imports gets one report, run after the last of them is committed)."""
    from training.services import job_launch

    if not getattr(settings, "DATA_QUALITY_AFTER_IMPORT", True):
        return None
    if Job.objects.filter(kind="data_quality", status=Job.Status.QUEUED).exists():
        return None
    params = {"trigger": "import"}
    if report.import_run_id:
        params["import_run"] = report.import_run_id
    job = job_launch(kind="data_quality", params=params)
    logger.info("import %s: data quality job #%s queued", report.import_run_id, job.pk)
    return job
