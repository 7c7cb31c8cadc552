"""Insights → demand forecasts (the ``forecast_demand`` job's rows): per product and category
the forecast over the horizon with its 90 % interval, the method and the backtest MASE; the
stock-out risk list is the same page filtered to products that run out, by days of cover.
Read-only; the latest run's backtest (median MASE per category vs seasonal naive) heads it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from recommend.insights.models import DemandForecast, ForecastRun


def _days(values, n: int) -> float:
    return float(sum(values[:n]))


@admin.register(DemandForecast)
class DemandForecastAdmin(admin.ModelAdmin):
    """Forecasts by product and category; ``?runs_out__exact=1`` is the stock-out risk list."""

    list_display = (
        "name_shown",
        "kind",
        "method",
        "next_7_days",
        "horizon_shown",
        "last_28_days",
        "stock",
        "days_of_cover",
        "runs_out",
        "mase_shown",
    )
    list_display_links = None
    list_filter = ("runs_out", "kind", "method")
    search_fields = ("name", "product__external_id")
    list_select_related = ("product",)
    ordering = ("kind", "-horizon_total", "id")
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "admin/insights/demandforecast/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("", view(self.changelist_view), name="insights_demandforecast_changelist")]

    def get_ordering(self, request):
        if request.GET.get("runs_out__exact") == "1":
            return ("days_of_cover", "-horizon_total", "id")
        return super().get_ordering(request)

    @admin.display(description="Product / category", ordering="name")
    def name_shown(self, obj: DemandForecast):
        if obj.product_id:
            url = reverse("admin:catalog_product_change", args=[obj.product_id])
            return format_html('<a href="{}">{}</a> ({})', url, obj.name, obj.product.external_id)
        return obj.name

    @admin.display(description="Next 7 days (90 % interval)")
    def next_7_days(self, obj: DemandForecast) -> str:
        return f"{_days(obj.mean, 7):.1f} ({_days(obj.low, 7):.1f}–{_days(obj.high, 7):.1f})"

    @admin.display(description="Horizon total", ordering="horizon_total")
    def horizon_shown(self, obj: DemandForecast) -> str:
        return f"{obj.horizon_total:.1f}"

    @admin.display(description="Last 28 days")
    def last_28_days(self, obj: DemandForecast) -> str:
        return f"{sum(obj.history):.0f}"

    @admin.display(description="Backtest MASE (naive)", ordering="mase")
    def mase_shown(self, obj: DemandForecast) -> str:
        if obj.mase is None:
            return "all zero"
        naive = f"{obj.mase_naive:.2f}" if obj.mase_naive is not None else "—"
        return f"{obj.mase:.2f} ({naive})"

    def changelist_view(self, request, extra_context=None):
        run = ForecastRun.objects.order_by("-created_at", "-id").first()
        context = {
            "forecast_run": run,
            "forecast_metrics": run.metrics if run else {},
            "stockout": request.GET.get("runs_out__exact") == "1",
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})
