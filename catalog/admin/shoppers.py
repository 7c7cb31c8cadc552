"""Admin pages of shoppers (timeline, forget / export) and of what they do: events and the
search log (zero-result report). The big tables never run a full COUNT(*)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from catalog import selectors
from catalog.admin.common import (
    SHOPPER_TIMELINE_EVENTS,
    BigTableAdmin,
    EstimatedCountPaginator,
    EventsInlineMixin,
    ReadOnlyInline,
    recent_formset,
)
from catalog.admin.quality import TrainingFlagActions
from catalog.models import Event, SearchLog, Shopper
from catalog.services.privacy import shopper_export, shopper_forget


class ShopperEventsInline(ReadOnlyInline):
    model = Event
    fk_name = "shopper"
    verbose_name_plural = f"Event timeline (latest {SHOPPER_TIMELINE_EVENTS})"
    fields = ("timestamp", "type", "product", "query", "position", "value", "review", "session")
    readonly_fields = fields
    formset = recent_formset(SHOPPER_TIMELINE_EVENTS, ("product",))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_event")


@admin.register(Shopper)
class ShopperAdmin(TrainingFlagActions, EventsInlineMixin, admin.ModelAdmin):
    events_inline = ShopperEventsInline
    inlines = (ShopperEventsInline,)
    list_display = (
        "external_id",
        "segment",
        "country",
        "signup_date",
        "profile_version",
        "last_seen_at",
    )
    list_filter = ("segment", "country", "exclude_from_training", "promotions_opt_out")
    search_fields = ("=external_id",)
    readonly_fields = (
        "category_interests",
        "profile_version",
        "created_at",
        "last_seen_at",
        "exclude_from_training",  # set by the audited actions (list, data quality report)
    )
    training_flag_subject = "shopper"
    actions = (
        "forget_shoppers",
        "export_shoppers",
        *TrainingFlagActions.training_flag_action_names,
    )
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.action(description="Forget shopper (delete personal data)", permissions=["delete"])
    def forget_shoppers(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/catalog/shopper/forget_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": "Forget shoppers?",
                    "shoppers": queryset,
                    "mode": settings.SHOPPER_FORGET_MODE,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        done = 0
        for external_id in queryset.values_list("external_id", flat=True):
            shopper_forget(external_id=external_id, actor=request.user)
            done += 1
        self.message_user(
            request, f"Forgot {done} shopper(s) ({settings.SHOPPER_FORGET_MODE}).", messages.SUCCESS
        )
        return None

    @admin.action(description="Export shopper data (JSON)", permissions=["view"])
    def export_shoppers(self, request, queryset):
        data = [
            shopper_export(external_id=ext, actor=request.user)
            for ext in queryset.values_list("external_id", flat=True)
        ]
        body = data[0] if len(data) == 1 else {"shoppers": data}
        name = f"shopper-{data[0]['shopper']['external_id']}" if len(data) == 1 else "shoppers"
        response = HttpResponse(
            json.dumps(body, indent=2, ensure_ascii=False, default=str),
            content_type="application/json",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response


@admin.register(Event)
class EventAdmin(BigTableAdmin):
    list_display = (
        "timestamp",
        "type",
        "shopper",
        "product",
        "query",
        "position",
        "value",
        "session",
    )
    list_select_related = ("shopper", "product")
    list_filter = ("type", "exclude_from_training", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("=event_id", "=shopper__external_id", "query")
    readonly_fields = [f.name for f in Event._meta.fields]
    ordering = ("-timestamp", "-id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shopper", "product")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # events are facts

    def has_delete_permission(self, request, obj=None):
        # a read-only log: shoppers are forgotten through their own action (the privacy
        # service), old events leave by the retention task, never by "Delete selected"
        return False


class ZeroResultsFilter(admin.SimpleListFilter):
    title = "results"
    parameter_name = "zero_results"

    def lookups(self, request, model_admin):
        return (("yes", "zero results"), ("no", "some results"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(result_count=0)
        if self.value() == "no":
            return queryset.filter(result_count__gt=0)
        return queryset


@admin.register(SearchLog)
class SearchLogAdmin(BigTableAdmin):
    list_display = (
        "timestamp",
        "query",
        "result_count",
        "intent",
        "shopper",
        "latency_ms",
        "strategy",
        "variant",
    )
    list_select_related = ("shopper",)
    list_filter = ("intent", ZeroResultsFilter, ("timestamp", admin.DateFieldListFilter))
    search_fields = ("query", "normalised_query", "=request_id")
    readonly_fields = [f.name for f in SearchLog._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shopper")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a read-only log (see EventAdmin)

    def get_urls(self):
        return [
            path(
                "zero-results/",
                self.admin_site.admin_view(self.zero_results_view),
                name="catalog_zero_results",
            ),
            *super().get_urls(),
        ]

    def zero_results_view(self, request):
        """Top searches that found nothing over the last N days."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = max(1, min(365, int(request.GET.get("days", 7))))
        except ValueError:
            days = 7
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Zero-result searches, last {days} days",
            "days": days,
            "day_choices": (1, 7, 30, 90),
            "rows": selectors.zero_result_queries(days=days, limit=100),
            "changelist_url": reverse("admin:catalog_searchlog_changelist"),
        }
        return TemplateResponse(request, "admin/catalog/searchlog/zero_results.html", context)
