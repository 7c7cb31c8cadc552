"""``shopper_forget`` / ``shopper_export`` for the insights' per-shopper rows (catalog hooks)."""

from __future__ import annotations

from typing import Any

from catalog import privacy


def forget_review_sentiment(ctx: privacy.ForgetContext) -> dict[str, int]:
    """Delete the labels of the shopper's reviews (delete mode). In anonymise mode they follow
    their review events to the anonymous shopper, so the series keep their counts."""
    from recommend.insights.models import ReviewSentiment

    if ctx.replacement is not None:
        return {}
    rows = ReviewSentiment.objects.filter(event__shopper=ctx.shopper)
    return {"review_sentiment": rows.delete()[0]}


def export_review_sentiment(shopper) -> list[dict[str, Any]]:
    """The sentiment the platform read in each of the shopper's reviews."""
    from recommend.insights.models import ReviewSentiment

    return [
        {
            "event_id": row["event__event_id"],
            "product": row["product__external_id"] or "",
            "day": row["day"].isoformat(),
            "label": row["label"],
            "score": row["score"],
            "source": row["source"],
        }
        for row in ReviewSentiment.objects.filter(event__shopper=shopper)
        .order_by("day", "event_id")
        .values("event__event_id", "product__external_id", "day", "label", "score", "source")
    ]


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_review_sentiment)
    privacy.register_export_section("review_sentiment", export_review_sentiment)
