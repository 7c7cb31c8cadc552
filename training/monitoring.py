"""Training's metrics and alert rule: jobs by kind and status (scrape time), a failed job."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q

from platform_core import alerts, metrics

FAILED_JOB_WINDOW = timedelta(hours=24)


def job_gauges() -> list[metrics.ScrapeGauge]:
    """Jobs per kind and status: one grouped count over the job table."""
    from training.models import Job

    rows = Job.objects.values_list("kind", "status").annotate(n=Count("id")).order_by()
    return [
        metrics.ScrapeGauge(
            "aisle_jobs",
            "Training jobs per kind and status (rows in the job table).",
            ("kind", "status"),
            [((kind, status), n) for kind, status, n in rows],
        )
    ]


def failed_job_findings(*, now: datetime, window: timedelta) -> list[alerts.Finding]:
    """Each job that failed within the window (value 1)."""
    from training.models import Job

    since = now - window
    failed = (
        Job.objects.filter(status=Job.Status.FAILED)
        .filter(Q(finished_at__gte=since) | Q(finished_at__isnull=True, created_at__gte=since))
        .order_by("pk")
        .only("pk", "kind", "error", "message")
    )
    findings = []
    for job in failed:
        reason = (job.error or job.message or "no error recorded").strip().splitlines()
        findings.append(
            (
                f"job:{job.pk}",
                1.0,
                f"Job #{job.pk} ({job.kind}) failed: {reason[-1][:300] if reason else ''} — "
                f"see /admin/training/job/{job.pk}/change/ (retry it there).",
            )
        )
    return findings


def register() -> None:
    metrics.register_gauges("jobs", job_gauges)
    alerts.register_rule(
        "job_failed",
        title="A training job failed",
        evaluate=failed_job_findings,
        default_threshold=1,
        comparison=">=",
        window=FAILED_JOB_WINDOW,
        unit="job",
        description="One alert per job that failed in the last 24 hours; it resolves itself a "
        "day after the failure, or acknowledge / resolve it once handled.",
    )
