"""``shopper_forget`` / ``shopper_export`` for the insights' per-shopper rows (catalog hook
lists). Profiles, segments and churn scores: both modes delete the rows (they describe one
person; an anonymous replacement inherits events, not scores). Review sentiment: delete mode
deletes the labels; in anonymise mode they follow their review events to the anonymous shopper."""

from __future__ import annotations

from typing import Any

from catalog import privacy


def forget_profiles(ctx: privacy.ForgetContext) -> dict[str, int]:
    """Delete the shopper's profile snapshots and their insight row (segment, embedding)."""
    from recommend.insights.models import ProfileSnapshot, ShopperInsight

    return {
        "profile_snapshots": ProfileSnapshot.objects.filter(shopper=ctx.shopper).delete()[0],
        "shopper_insights": ShopperInsight.objects.filter(shopper=ctx.shopper).delete()[0],
    }


def export_profiles(shopper) -> dict[str, Any]:
    """The shopper's segment and interest snapshots (ids resolved to names)."""
    from catalog.models import Brand, Category
    from recommend.insights.models import ProfileSnapshot, ShopperInsight

    insight = ShopperInsight.objects.select_related("segment").filter(shopper=shopper).first()
    snapshots = list(ProfileSnapshot.objects.filter(shopper=shopper).order_by("day"))
    categories = dict(Category.objects.values_list("pk", "name"))
    brands = dict(Brand.objects.values_list("pk", "name"))
    return {
        "segment": insight.segment.name if insight and insight.segment else None,
        "snapshots": [
            {
                "day": s.day.isoformat(),
                "categories": {categories.get(int(k), k): v for k, v in s.categories.items()},
                "brands": {brands.get(int(k), k): v for k, v in s.brands.items()},
            }
            for s in snapshots
        ],
    }


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


def forget_churn_scores(ctx: privacy.ForgetContext) -> dict[str, int]:
    from recommend.insights.models import ChurnScore

    return {"churn_scores": ChurnScore.objects.filter(shopper=ctx.shopper).delete()[0]}


def export_churn_scores(shopper) -> list[dict[str, Any]]:
    from recommend.insights.models import ChurnScore

    return [
        {
            "risk": row.risk,
            "value": row.value,
            "days_since_last_visit": row.recency_days,
            "reasons": [r.get("text", "") for r in row.reasons or []],
            "group": row.group,
            "scored_at": row.run.created_at.isoformat(),
        }
        for row in ChurnScore.objects.filter(shopper=shopper).select_related("run")
    ]


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_profiles)
    privacy.register_export_section("profiles", export_profiles)
    privacy.register_forget_hook(forget_review_sentiment)
    privacy.register_export_section("review_sentiment", export_review_sentiment)
    privacy.register_forget_hook(forget_churn_scores)
    privacy.register_export_section("churn_risk", export_churn_scores)
