"""The answer to a sign-in attempt while a username or client address is locked out.

django-axes calls ``lockout_response`` (``AXES_LOCKOUT_CALLABLE``) instead of running the login
view. It says what happened and what to do, with HTTP 429: the admin's look for /admin/, the
Academy's elsewhere, the house JSON error body for a client that asks for JSON.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off, get_failure_limit
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from platform_core.api.exceptions import error_body

LOCKOUT_STATUS = 429


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": minutes,
        "site_header": "Aisle administration",
        "title": "Sign-in locked",
    }
    message = (
        "Too many failed sign-ins for this account or from this address: sign-in is locked"
        + (f" for {minutes} minutes." if minutes else " until an administrator unlocks it.")
    )
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(
            error_body("locked_out", message, {"retry_after_seconds": minutes and minutes * 60}),
            status=LOCKOUT_STATUS,
        )
    else:
        template = (
            "admin/locked_out.html"
            if request.path.startswith("/admin/")
            else "academy/locked_out.html"
        )
        response = render(request, template, {**context, "message": message}, status=LOCKOUT_STATUS)
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
