"""Admin page for the buffers' dead letters: rows a flush could not store, with their error.

Every buffer in ``platform_core.buffers.REGISTRY`` is listed with its backlog, claims, drops and
dead letters; each dead letter can be retried (its row goes back into the buffer, for a flush
after the cause was fixed) or discarded. Both are audited. A warning on every admin page says
when dead letters exist (:class:`DeadLetterNoticeMiddleware`).
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from platform_core import buffers
from platform_core.models import DeadLetter
from platform_core.services import audit_record

logger = logging.getLogger(__name__)
PAGE_SIZE = 200


def _stats() -> dict[str, dict]:
    return {name: buffer.stats() for name, buffer in sorted(buffers.REGISTRY.items())}


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Not a table: the changelist is a page over Redis, with retry and discard."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="platform_core_deadletter_changelist",
            ),
            path(
                "act/",
                self.admin_site.admin_view(self.act_view),
                name="platform_core_deadletter_act",
            ),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        selected = request.GET.get("buffer") or ""
        rows = []
        for name, buffer in sorted(buffers.REGISTRY.items()):
            if selected and name != selected:
                continue
            rows.extend(buffer.dead_letters(limit=PAGE_SIZE))
        context = {
            **self.admin_site.each_context(request),
            "title": "Dead letters",
            "opts": self.model._meta,
            "stats": _stats(),
            "letters": rows[:PAGE_SIZE],
            "selected": selected,
            "can_change": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/platform_core/deadletter/change_list.html", context)

    def act_view(self, request):
        """POST ``action`` (retry | discard), ``buffer`` and one or more ``entry`` values."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:platform_core_deadletter_changelist"))
        if not self.has_change_permission(request):
            raise PermissionDenied
        action = request.POST.get("action")
        buffer = buffers.REGISTRY.get(request.POST.get("buffer", ""))
        if action not in ("retry", "discard") or buffer is None:
            messages.error(request, "Choose retry or discard, and a known buffer.")
            return HttpResponseRedirect(reverse("admin:platform_core_deadletter_changelist"))
        entries = request.POST.getlist("entry")
        done = 0
        for raw in entries:
            try:
                ok = (
                    buffer.dead_letter_retry(raw)
                    if action == "retry"
                    else buffer.dead_letter_discard(raw)
                )
            except ValueError:
                ok = False
            done += int(ok)
        audit_record(
            actor=request.user,
            action=f"dead_letter.{action}",
            details={"buffer": buffer.name, "rows": done, "asked": len(entries)},
        )
        verb = "queued again for the next flush" if action == "retry" else "discarded"
        messages.success(request, f"{done} dead letter(s) of {buffer.name} {verb}.")
        if done < len(entries):
            messages.warning(
                request,
                f"{len(entries) - done} were no longer there (retried or discarded meanwhile).",
            )
        return HttpResponseRedirect(
            reverse("admin:platform_core_deadletter_changelist") + f"?buffer={buffer.name}"
        )


class DeadLetterNoticeMiddleware:
    """On admin page loads (GET), warn staff who may see dead letters that some exist."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.method == "GET"
            and request.path.startswith("/admin/")
            and not request.headers.get("HX-Request")
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and user.has_perm("platform_core.view_deadletter")
        ):
            try:
                total = sum(s["dead_letters"] for s in _stats().values())
            except Exception:  # a notice must never fail a page
                logger.warning("dead-letter count failed", exc_info=True)
                total = 0
            if total:
                messages.warning(
                    request,
                    format_html(
                        '{} buffered row(s) could not be stored and wait in the <a href="{}">dead letters</a>.',
                        total,
                        reverse("admin:platform_core_deadletter_changelist"),
                    ),
                    fail_silently=True,
                )
        return self.get_response(request)
