"""``{% alert_banner %}``: the open alerts, on every admin page (templates/admin/base_site.html)."""

from __future__ import annotations

import logging

from django import template

register = template.Library()
logger = logging.getLogger(__name__)


@register.inclusion_tag("admin/platform_core/alert/banner.html", takes_context=True)
def alert_banner(context) -> dict:
    """Open and acknowledged alerts for staff who may see them (from the cache beat's
    evaluation fills: no query), else nothing; a failure to read them never breaks a page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not user.is_staff
        or not user.has_perm("platform_core.view_alert")
    ):
        return {"show": False}
    from platform_core.alerts import open_alerts_summary

    try:
        summary = open_alerts_summary()
    except Exception:
        logger.warning("alert banner failed", exc_info=True)
        return {"show": False}
    return {"show": bool(summary["open"] or summary["acknowledged"]), **summary}
