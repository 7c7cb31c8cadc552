"""``data_quality``: run the catalog's data quality checks and store the report.

The checks are the catalog's (:mod:`catalog.quality`); this runner adds what only the training
app has — the active retriever's vectors, for the near-duplicate check — and the job's progress
and cancellation. It trains nothing and creates no version.
"""

from __future__ import annotations

from catalog.models import DataQualityReport, ImportRun
from catalog.quality.selectors import QualitySettings
from catalog.services.quality import quality_report_run
from training import selectors, vectors
from training.context import JobContext
from training.models import Task


def neighbour_query(ctx: JobContext):
    """The near-duplicate check's nearest-neighbour query over the active retriever's vectors
    (None when no retriever has an HNSW index yet)."""
    version = selectors.active_version(Task.RETRIEVER)
    if version is None or not version.dimension or not vectors.hnsw_index_exists(version.pk):
        ctx.log("no active retriever with an index: near-duplicate check skipped")
        return None
    ctx.log(f"near-duplicates from retriever version #{version.pk}")
    return lambda threshold: vectors.nearest_neighbour_pairs(
        version.pk, version.dimension, threshold
    )


def run(ctx: JobContext) -> None:
    p = ctx.params
    config = QualitySettings(
        near_duplicate_cosine=p["near_duplicate_cosine"],
        min_title_chars=p["min_title_chars"],
        min_description_chars=p["min_description_chars"],
        price_z=p["outlier_z"],
        bot_z=p["outlier_z"],
        bot_min_events_per_hour=p["bot_min_events_per_hour"],
    )

    def progress(fraction: float, label: str) -> None:
        ctx.check_cancel()
        ctx.message(label)
        ctx.progress(fraction, int(fraction * 9), 9, None, {})

    import_run = ImportRun.objects.filter(pk=p["import_run"]).first() if p["import_run"] else None
    with ctx.stage("checks", 0.0, 1.0):
        report = quality_report_run(
            trigger=p["trigger"],
            neighbours=neighbour_query(ctx),
            config=config,
            job_id=ctx.job_id,
            import_run=import_run,
            progress=progress,
        )
    ctx.log(f"report #{report.pk}: {report.issues_found} issues {report.counts}")
    ctx.finish(
        None,
        {
            "report": report.pk,
            "issues_found": report.issues_found,
            **{f"count_{name}": n for name, n in report.counts.items()},
            "duration_s": report.duration_seconds,
            "trigger": DataQualityReport.Trigger(report.trigger).label,
        },
    )
