"""``shopper_forget`` / ``shopper_export`` for the shopper profiles and segments (catalog hook
lists). Both modes delete the rows: a profile describes one person, and anonymisation hands
only the events on."""

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


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_profiles)
    privacy.register_export_section("profiles", export_profiles)
