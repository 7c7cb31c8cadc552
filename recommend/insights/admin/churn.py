"""Insights → shoppers by churn risk (the ``churn_risk`` job's scores, highest risk first, with
value and reasons) and the win-back lists per segment with the products to show, as a page and
as CSV.  Read-only; the windows of the latest run are stated on both pages."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.csv_safety import SafeCsvWriter
from recommend.insights import selectors_churn
from recommend.insights.models import ChurnScore


class RiskBandFilter(admin.SimpleListFilter):
    title = "risk"
    parameter_name = "risk_band"
    BANDS = {"high": (0.5, 1.01), "medium": (0.2, 0.5), "low": (0.0, 0.2)}

    def lookups(self, request, model_admin):
        return [("high", "high (≥ 50%)"), ("medium", "medium (20–50%)"), ("low", "low (< 20%)")]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        return queryset.filter(risk__gte=band[0], risk__lt=band[1])


def run_context() -> dict:
    run = selectors_churn.churn_run_latest()
    return {"churn_run": run, "churn_metrics": run.metrics if run else {}}


@admin.register(ChurnScore)
class ChurnScoreAdmin(admin.ModelAdmin):
    """Shoppers by churn risk: read-only, no change page (rows link to the shopper)."""

    list_display = (
        "shopper_link",
        "risk_shown",
        "value",
        "recency_shown",
        "visits",
        "reasons_shown",
        "group",
    )
    list_display_links = None
    list_filter = (RiskBandFilter, "group")
    search_fields = ("shopper__external_id",)
    list_select_related = ("shopper",)
    ordering = ("-risk", "id")
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "admin/insights/churnscore/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("", view(self.changelist_view), name="insights_churnscore_changelist"),
            path("winback/", view(self.winback_view), name="insights_churnscore_winback"),
            path("winback.csv", view(self.winback_csv), name="insights_churnscore_winback_csv"),
        ]

    @admin.display(description="Shopper", ordering="shopper__external_id")
    def shopper_link(self, obj: ChurnScore):
        url = reverse("admin:catalog_shopper_change", args=[obj.shopper_id])
        return format_html('<a href="{}">{}</a>', url, obj.shopper.external_id)

    @admin.display(description="Risk", ordering="risk")
    def risk_shown(self, obj: ChurnScore) -> str:
        return f"{obj.risk:.0%}"

    @admin.display(description="Days since last visit", ordering="recency_days")
    def recency_shown(self, obj: ChurnScore) -> str:
        return f"{obj.recency_days:.1f}"

    @admin.display(description="Reasons (top features)")
    def reasons_shown(self, obj: ChurnScore) -> str:
        return obj.reason_text or "—"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**run_context(), **(extra_context or {})})

    def _check(self, request) -> None:
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied

    def winback_view(self, request):
        self._check(request)
        context = {
            **self.admin_site.each_context(request),
            **run_context(),
            "title": "Win-back lists",
            "opts": self.model._meta,
            "groups": selectors_churn.winback_lists(),
        }
        return TemplateResponse(request, "admin/insights/churnscore/winback.html", context)

    def winback_csv(self, request):
        self._check(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="winback.csv"'
        writer = SafeCsvWriter(response)
        writer.writerow(
            ["group", "shopper", "risk", "value", "days_since_last_visit", "reasons", "products"]
        )
        for group, rows in selectors_churn.winback_lists().items():
            for row in rows:
                writer.writerow(
                    [
                        group,
                        row.shopper,
                        f"{row.risk:.4f}",
                        f"{row.value:.2f}",
                        f"{row.recency_days:.1f}",
                        row.reasons,
                        " ".join(ext for ext, _title in row.products),
                    ]
                )
        return response
