"""Insights → shopper profiles and segments (read-only; what the ``shopper_segments`` job
computed). A shopper profile's page shows the interest distribution with its change over 30
days, the profile embedding's nearest shoppers and products, the latest events, the segment and
"what this shopper sees": their recommendations and a search as them, each item explained,
served read-only. Opening a shopper's page is audited (platform_core AuditLog)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.admin.common import BigTableAdmin
from platform_core.services import audit_record
from recommend.insights import preview
from recommend.insights.logic.charts import interest_bars_svg
from recommend.insights.models import Segment, ShopperInsight
from recommend.insights.selectors import profiles as selectors

CHART_ROWS = 8


class _ReadOnly:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # rebuilt by the job; forgetting a shopper removes theirs


@admin.register(ShopperInsight)
class ShopperInsightAdmin(_ReadOnly, BigTableAdmin):
    list_display = (
        "shopper",
        "segment",
        "top_category",
        "event_count",
        "purchases_30d",
        "computed_at",
    )
    list_select_related = ("shopper", "segment")
    list_filter = ("segment", ("computed_at", admin.DateFieldListFilter))
    search_fields = ("=shopper__external_id", "top_category")
    exclude = ("vector",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("vector")  # 384 floats a row, never listed

    def change_view(self, request, object_id, form_url="", extra_context=None):
        insight = get_object_or_404(
            ShopperInsight.objects.select_related("shopper", "segment"), pk=object_id
        )
        if not self.has_view_permission(request, insight):
            raise PermissionDenied
        shopper = insight.shopper
        query = request.GET.get("q", "").strip()[:256]
        audit_record(
            actor=request.user,
            action="view shopper profile",
            obj=shopper,
            details={"search_as_shopper": query} if query else {},
        )
        page = selectors.shopper_page(shopper, insight=insight)
        seen = preview.shopper_preview(shopper.external_id, query=query)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Shopper {shopper.external_id}",
            "shopper": shopper,
            "insight": insight,
            "page": page,
            "seen": seen,
            "query": query,
            "category_chart": mark_safe(  # numbers and escaped names only
                interest_bars_svg(
                    [(r.name, r.now, r.before) for r in page.categories[:CHART_ROWS]],
                    title="Interest by category",
                )
            ),
            "brand_chart": mark_safe(
                interest_bars_svg(
                    [(r.name, r.now, r.before) for r in page.brands[:CHART_ROWS]],
                    title="Interest by brand",
                )
            ),
        }
        return TemplateResponse(request, "admin/insights/shopper_profile.html", context)


@admin.register(Segment)
class SegmentAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "name",
        "size",
        "conversion",
        "leaning_to",
        "shoppers_link",
        "computed_at",
    )
    list_filter = (("computed_at", admin.DateFieldListFilter),)
    search_fields = ("name",)

    @admin.display(description="Conversion (30 days)", ordering="conversion_rate")
    def conversion(self, obj: Segment) -> str:
        return f"{obj.conversion_rate:.1%}"

    @admin.display(description="Leans to (share, lift over the store)")
    def leaning_to(self, obj: Segment) -> str:
        return ", ".join(
            f"{name} {share:.0%} ×{lift:.1f}" for name, share, lift in obj.top_categories
        )

    @admin.display(description="Shoppers")
    def shoppers_link(self, obj: Segment) -> str:
        return format_html(
            '<a href="../shopperinsight/?segment__id__exact={}">{} shoppers</a>', obj.pk, obj.size
        )
