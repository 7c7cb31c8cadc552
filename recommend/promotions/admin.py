"""Admin of the promotion campaigns: the list (filters, search, start/pause/end) and each
campaign's page (impressions, CTR, conversions, uplift vs the held-out control)."""

from __future__ import annotations

import math

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from recommend.promotions import selectors, services
from recommend.promotions.models import Arm, Campaign


def _pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value * 100:.2f}%"


def _signed_pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value * 100:+.1f}%"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "slot",
        "starts_at",
        "ends_at",
        "budget_used",
        "control_percent",
        "report_link",
    )
    list_filter = ("status", "slot", "starts_at", "category")
    search_fields = ("name", "slot", "products__title", "=products__external_id")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("products", "category")
    readonly_fields = ("impressions", "salt", "created_at")
    fields = (
        "name",
        "status",
        "slot",
        "products",
        "category",
        "starts_at",
        "ends_at",
        "impression_budget",
        "impressions",
        "control_percent",
        "salt",
        "created_at",
    )
    actions = ["start_selected", "pause_selected", "end_selected"]

    @admin.display(description="impressions / budget")
    def budget_used(self, obj: Campaign) -> str:
        return f"{obj.impressions:,} / {obj.impression_budget:,}"

    @admin.display(description="report")
    def report_link(self, obj: Campaign):
        url = reverse("admin:promotions_campaign_report", args=[obj.pk])
        return format_html('<a href="{}">uplift vs control</a>', url)

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    def _set(self, request, queryset, status: str) -> None:
        for campaign in queryset:
            services.campaign_set_status(campaign=campaign, status=status, actor=request.user)
        self.message_user(
            request, f"{queryset.count()} campaign(s) now {status}.", messages.SUCCESS
        )

    @admin.action(description="Start the selected campaigns", permissions=["change"])
    def start_selected(self, request, queryset):
        self._set(request, queryset, Campaign.Status.RUNNING)

    @admin.action(description="Pause the selected campaigns", permissions=["change"])
    def pause_selected(self, request, queryset):
        self._set(request, queryset, Campaign.Status.PAUSED)

    @admin.action(description="End the selected campaigns", permissions=["change"])
    def end_selected(self, request, queryset):
        self._set(request, queryset, Campaign.Status.ENDED)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/report/", view(self.report_view), name="promotions_campaign_report"),
        ] + super().get_urls()

    def report_view(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_or_change_permission(request, campaign):
            raise PermissionDenied
        report = selectors.campaign_report(campaign)
        arms = []
        for key in (Arm.TREATED, Arm.CONTROL):
            figures = report.arms[key]
            arms.append(
                {
                    "label": Arm(key).label,
                    "shoppers": figures.shoppers,
                    "serves": figures.serves,
                    "impressions": figures.impressions,
                    "clicks": figures.clicks if key == Arm.TREATED else None,
                    "ctr": _pct(figures.ctr) if key == Arm.TREATED else "–",
                    "converted": figures.converted,
                    "conversion": _pct(figures.conversion),
                }
            )
        uplift = None
        if report.uplift is not None:
            u = report.uplift
            uplift = {
                "abs": f"{u.abs_diff * 100:+.2f} pp",
                "abs_ci": f"{u.abs_ci_low * 100:+.2f} to {u.abs_ci_high * 100:+.2f} pp",
                "rel": _signed_pct(u.rel_lift),
                "rel_ci": f"{_signed_pct(u.ci_low)} to {_signed_pct(u.ci_high)}",
                "p": f"{u.p_value:.3f}",
                "significant": u.significant,
                "confidence": f"{(1 - u.alpha) * 100:.0f}%",
            }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "report": report,
            "arms": arms,
            "uplift": uplift,
            "title": f"Campaign “{campaign}”",
        }
        return TemplateResponse(request, "admin/promotions/campaign/report.html", context)
