"""Thin beat tasks of the insights; the jobs themselves run on the ``cpu`` queue."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="recommend.insights.tasks.score_reviews_incremental", ignore_result=True)
def score_reviews_incremental() -> int | None:
    """Beat, every few minutes: queue ``score_reviews`` when new reviews arrived."""
    from recommend.insights.services.sentiment_jobs import score_reviews_launch

    job = score_reviews_launch()
    return job.pk if job else None


@shared_task(name="recommend.insights.tasks.daily_insights", ignore_result=True)
def daily_insights() -> list[int]:
    """Beat, once a day: queue segments, churn risk and the demand forecast."""
    from recommend.insights.services.daily import daily_insights_launch

    return daily_insights_launch()
