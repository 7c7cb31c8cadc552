"""Insights → shoppers by churn risk (the ``churn_risk`` job's scores, highest risk first, with
value and reasons) and the win-back lists per segment with the products to show, as a page and
as CSV.  Read-only; the windows of the latest run are stated on both pages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import admin
from django.db.models import Prefetch
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.csv_safety import SafeCsvWriter
from catalog.models import Shopper
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


WINBACK_ROW = (
    '<tr><td><a href="{}{}/change/">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
    "<td>{}</td></tr>"
)


def fixed(value: float, places: int) -> str:
    """``value`` with ``places`` decimals as the template's ``floatformat`` writes it (half up on
    the shortest decimal form: 83.05 gives 83.1 where an f-string gives 83.0), without its
    localisation machinery, which cost more than the rest of a win-back row."""
    step = Decimal(1).scaleb(-places)
    return str(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))


def winback_tables(
    groups: dict[str, list[selectors_churn.WinbackRow]],
) -> list[tuple[str, int, SafeString]]:
    """Each win-back group's name, size and table rows as HTML, built in one pass of
    ``format_html_join`` (escaped like the template would): the page lists up to groups ×
    ``winback_per_group`` shoppers (800 with 40 top categories), and rendering them cell by cell
    in the template language (a ``{% url %}``, filters and a loop over the products per row) took
    most of a second; the template now renders a fixed number of nodes per group."""
    shoppers = reverse("admin:catalog_shopper_changelist")
    return [
        (
            group,
            len(rows),
            format_html_join(
                "",
                WINBACK_ROW,
                (
                    (
                        shoppers,
                        row.shopper_id,
                        row.shopper,
                        f"{round(row.risk * 100)}%",  # as {% widthratio risk 1 100 %}
                        fixed(row.value, 2),
                        fixed(row.recency_days, 1),
                        row.reasons or "—",
                        "; ".join(f"{title} ({ext})" for ext, title in row.products) or "—",
                    )
                    for row in rows
                ),
            ),
        )
        for group, rows in groups.items()
    ]


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
    # not joined into the paged query: Django pages with OFFSET, and a join walks every row
    # before the page (the last of 235 pages at 23k shoppers joined 23k of them); the page's 100
    # shoppers come in one more query instead (``get_queryset``)
    list_select_related = False
    ordering = ("-risk", "id")
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "admin/insights/churnscore/change_list.html"

    def get_queryset(self, request):
        shoppers = Shopper.objects.only("id", "external_id")
        return super().get_queryset(request).prefetch_related(Prefetch("shopper", shoppers))

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
            "groups": winback_tables(selectors_churn.winback_lists()),
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
