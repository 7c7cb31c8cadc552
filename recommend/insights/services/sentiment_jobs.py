"""Queue ``score_reviews`` when reviews arrived past its watermark (beat)."""

from __future__ import annotations

from recommend.insights.services.sentiment import review_events, sentiment_state


def score_reviews_launch():
    """Queue an incremental ``score_reviews`` job when review events wait past the watermark
    and none is queued or running; the job, else None."""
    from training import services

    if not review_events().filter(pk__gt=sentiment_state().last_event_id).exists():
        return None
    return services.job_launch_unless_open("score_reviews")
