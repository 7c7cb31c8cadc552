"""``shopper_forget`` / ``shopper_export`` for the served-request log (catalog hook lists)."""

from __future__ import annotations

from typing import Any

from catalog import privacy


def forget_served_requests(ctx: privacy.ForgetContext) -> dict[str, int]:
    """Delete the shopper's served requests, or (anonymise) hand them to the replacement
    shopper with the session cleared, so traffic figures stay intact."""
    from recommend.analytics.models import ServedRequest

    rows = ServedRequest.objects.filter(shopper=ctx.shopper)
    if ctx.replacement is None:
        return {"served_requests": rows.delete()[0]}
    return {"served_requests": rows.update(shopper=ctx.replacement, session="")}


def export_served_requests(shopper) -> list[dict[str, Any]]:
    """What the shopper was served: endpoint, query, shown product ids, time."""
    from catalog.models import Product
    from recommend.analytics.models import ServedRequest

    rows = list(
        ServedRequest.objects.filter(shopper=shopper)
        .order_by("timestamp", "id")
        .values("request_id", "endpoint", "query", "session", "shown", "result_count", "timestamp")
    )
    ids = {pk for row in rows for pk in row["shown"]}
    external = dict(Product.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    return [
        {
            **row,
            "shown": [external.get(pk, "") for pk in row["shown"]],
            "timestamp": row["timestamp"].isoformat(),
        }
        for row in rows
    ]


def register_privacy_hooks() -> None:
    privacy.register_forget_hook(forget_served_requests)
    privacy.register_export_section("served_requests", export_served_requests)
