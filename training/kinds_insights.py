"""The job kinds of the insights (``recommend.insights``): ``score_reviews`` labels the review
events with the active sentiment model and keeps the sentiment series, spikes and phrases."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from training.jobs import Param, register_job_kind
from training.kinds import DEVICE


def _validate_score_reviews(params: dict) -> None:
    if params["as_of"]:
        from datetime import date

        try:
            date.fromisoformat(params["as_of"])
        except ValueError:
            raise ValidationError({"as_of": ["a date as YYYY-MM-DD, or empty for today"]}) from None


register_job_kind(
    "score_reviews",
    title="Score review sentiment",
    summary="Labels new reviews with the active sentiment model (or the star rating when none is "
    "active), then finds negative spikes per product, brand and category and the phrases behind them.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.score_reviews.run",
    validate=_validate_score_reviews,
    help="Incremental (a watermark on review events; beat runs it every few minutes): the active "
    "sentiment model labels each new review (label and probability); without one, the rating "
    "stands in, labelled as such. Recounts the daily series (store, product, brand, category), "
    "tests each recounted day for negative-share spikes against each series' trailing baseline "
    "(exact binomial test, Benjamini-Hochberg across the series tested that day; spikes raise the "
    "'sentiment_spike' alert) and rebuilds the week's rising negative phrases. Insights → Review "
    "sentiment pages.",
    params=[
        DEVICE,
        Param("batch_size", int, 512, "reviews per batch", min=1, max=100_000, label="Batch size"),
        Param(
            "rescore",
            bool,
            False,
            "score every review again from the start (a changed model does this by itself)",
            label="Rescore everything",
        ),
        Param(
            "as_of",
            str,
            "",
            "the last day of 'this week' for the rising phrases (YYYY-MM-DD; empty: today)",
            label="Week ending",
        ),
        Param(
            "window_days",
            int,
            28,
            "a series' baseline: its reviews in this many days before the day tested",
            min=3,
            max=365,
            label="Baseline window (days)",
        ),
        Param(
            "min_reviews",
            int,
            5,
            "a series-day is tested from this many reviews",
            min=1,
            label="Minimum reviews a day",
        ),
        Param(
            "min_negatives",
            int,
            3,
            "... and this many negative ones",
            min=1,
            label="Minimum negative reviews a day",
        ),
        Param(
            "min_lift",
            float,
            0.15,
            "... and a negative share at least this much above its baseline",
            min=0.0,
            max=1.0,
            label="Minimum rise of the negative share",
        ),
        Param(
            "fdr",
            float,
            0.05,
            "Benjamini-Hochberg false discovery rate across the series tested each day",
            min=0.0001,
            max=0.5,
            label="False discovery rate",
        ),
    ],
)
