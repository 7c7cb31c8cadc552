"""``shopper_segments``: profile snapshots, profile embeddings and segments (the insights'
shopper profiles). The work is :func:`recommend.insights.services.profiles.shopper_segments_run`; this
runner adds the active retriever, progress and cancellation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from django.core.exceptions import ValidationError

from recommend.insights.services.profiles import shopper_segments_run, store_clock
from training import selectors
from training.context import JobContext
from training.models import Task


def run(ctx: JobContext) -> None:
    p = ctx.params
    if p["k_min"] > p["k_max"]:
        raise ValidationError(f"k_min ({p['k_min']}) must not exceed k_max ({p['k_max']}).")
    retriever = selectors.active_version(Task.RETRIEVER)
    if retriever is None:
        ctx.log("no active retriever: snapshots only, no embeddings or segments")
    else:
        ctx.log(f"profile embeddings under retriever version #{retriever.pk}")

    def progress(fraction: float, label: str) -> None:
        ctx.check_cancel()
        ctx.message(label)
        ctx.progress(fraction, int(fraction * 20), 20, None, {})

    if p["as_of"]:
        try:
            as_of = datetime.fromisoformat(p["as_of"]).replace(tzinfo=UTC)
        except ValueError:
            raise ValidationError(
                f"as_of must be a date as YYYY-MM-DD, not {p['as_of']!r}."
            ) from None
    else:
        as_of = store_clock(datetime.now(UTC))
    ctx.log(f"figures as of {as_of:%Y-%m-%d %H:%M} UTC")
    with ctx.stage("segments", 0.0, 1.0):
        outcome = shopper_segments_run(
            as_of=as_of,
            retriever_id=retriever.space_id if retriever else None,  # its product vectors
            k_min=p["k_min"],
            k_max=p["k_max"],
            seed=p["seed"],
            backfill_days=p["backfill_days"],
            job_id=ctx.job_id,
            progress=progress,
        )
    ctx.log(
        f"{outcome.shoppers} shoppers, {outcome.clustered} embedded; k={outcome.k} "
        f"(silhouette {outcome.silhouette}; by k {outcome.silhouette_by_k})"
    )
    metrics = asdict(outcome)
    metrics["silhouette_by_k"] = {str(k): v for k, v in outcome.silhouette_by_k.items()}
    ctx.finish(None, metrics)
