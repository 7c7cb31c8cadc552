"""``shopper_forget`` / ``shopper_export`` for the campaign serves (keyed by the shopper's
external id). Registered on the catalog's hook lists (``catalog.privacy``) when the app loads."""

from __future__ import annotations

from typing import Any

from catalog import privacy


def forget_campaign_serves(ctx: privacy.ForgetContext) -> dict[str, int]:
    """Delete the shopper's campaign serves, or (anonymise) hand them to the replacement
    shopper so a campaign's counts stay intact."""
    from recommend.promotions.models import CampaignServe

    rows = CampaignServe.objects.filter(shopper_external_id=ctx.shopper.external_id)
    if ctx.replacement is None:
        return {"campaign_serves": rows.delete()[0]}
    return {"campaign_serves": rows.update(shopper_external_id=ctx.replacement.external_id)}


def export_campaign_serves(shopper) -> list[dict[str, Any]]:
    from recommend.promotions.models import CampaignServe

    return [
        {
            "campaign": name,
            "arm": arm,
            "product": product,
            "slot": slot,
            "served_at": at.isoformat(),
            "request_id": request_id,
        }
        for name, arm, product, slot, at, request_id in CampaignServe.objects.filter(
            shopper_external_id=shopper.external_id
        )
        .order_by("served_at", "id")
        .values_list(
            "campaign__name", "arm", "product__external_id", "slot", "served_at", "request_id"
        )
    ]


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_campaign_serves)
    privacy.register_export_section("promotions", export_campaign_serves)
