"""Shows a staff user's pending job notices (e.g. "job #12 failed") as admin messages, once."""

from __future__ import annotations

from django.contrib import messages


def deliver_job_notices(request) -> None:
    """Turn the signed-in user's pending notices into messages for this request."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return
    from training.services import notices_deliver

    for notice in notices_deliver(user=user):
        level = {"error": messages.ERROR, "warning": messages.WARNING}.get(
            notice.level, messages.SUCCESS
        )
        messages.add_message(request, level, notice.message, fail_silently=True)


class JobNoticeMiddleware:
    """Add after ``MessageMiddleware``: on admin page loads (GET), delivers job notices."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "GET"
            and request.path.startswith("/admin/")
            and not request.headers.get("HX-Request")
            and not request.path.endswith("/progress/")
        ):
            deliver_job_notices(request)
        return self.get_response(request)
