"""Where a view may send the browser after a POST: a ``next`` that stays on this site, else a
fallback the view names. Every view that redirects to a ``next`` it was given uses this (the
login views use Django's own check, which is the same function)."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str, *, field: str = "next") -> str:
    """``request``'s ``next`` (POST, then GET) when it points at this host with an allowed scheme
    (https only on a secure request); otherwise ``fallback``. A foreign, protocol-relative or
    ``javascript:`` target is never followed."""
    target = request.POST.get(field) or request.GET.get(field) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
