"""The served-request log, read-only (the figures built from it are on the dashboard)."""

from __future__ import annotations

from django.contrib import admin

from catalog.admin.common import BigTableAdmin
from recommend.analytics.models import ServedRequest


@admin.register(ServedRequest)
class ServedRequestAdmin(BigTableAdmin):
    list_display = (
        "timestamp",
        "endpoint",
        "query",
        "result_count",
        "latency_ms",
        "strategy",
        "variant",
        "shopper",
        "cache_hit",
    )
    list_select_related = ("shopper",)
    list_filter = ("endpoint", "cache_hit", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("query", "=request_id", "=session")
    readonly_fields = [f.name for f in ServedRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a read-only log: forgetting a shopper removes theirs


# the search analytics pages (Insights) register themselves on the admin site
from recommend.analytics import admin_pages  # noqa: E402, F401
