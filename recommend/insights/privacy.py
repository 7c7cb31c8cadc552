"""``shopper_forget`` / ``shopper_export`` hooks of the insight tables (catalog hook lists): a
forgotten shopper leaves every insight table, whichever the mode (an anonymous replacement
inherits events, not scores)."""

from __future__ import annotations

from typing import Any

from catalog import privacy


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
    privacy.register_forget_hook(forget_churn_scores)
    privacy.register_export_section("churn_risk", export_churn_scores)
