"""Admin pages of the products: filters (category subtree, price, stock), recent events, and the
Import page (``/admin/catalog/product/import/``)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path

from catalog import selectors
from catalog.admin.common import (
    RECENT_PRODUCT_EVENTS,
    EventsInlineMixin,
    ReadOnlyInline,
    recent_formset,
)
from catalog.admin.imports import FULL_SYNC_PERMISSION, ImportForm, importable_kinds
from catalog.admin.quality import TrainingFlagActions, merged_into_link
from catalog.formats.contract import COLUMNS
from catalog.formats.reading import detect_format
from catalog.models import Event, ImportRun, Product
from catalog.services.edits import product_save
from catalog.services.imports import catalog_import_file


class CategoryTreeFilter(admin.SimpleListFilter):
    """A category and everything below it."""

    title = "category"
    parameter_name = "category_path"

    def lookups(self, request, model_admin):
        return selectors.categories_as_tree()

    def queryset(self, request, queryset):
        if self.value():
            return selectors.category_subtree(queryset, path=self.value())
        return queryset


class PriceRangeFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "price_range"
    RANGES = (
        ("0-10", 0, 10),
        ("10-25", 10, 25),
        ("25-50", 25, 50),
        ("50-100", 50, 100),
        ("100-250", 100, 250),
        ("250-500", 250, 500),
        ("500-", 500, None),
    )

    def lookups(self, request, model_admin):
        return [
            (key, f"{low} – {high}" if high is not None else f"{low} and more")
            for key, low, high in self.RANGES
        ]

    def queryset(self, request, queryset):
        for key, low, high in self.RANGES:
            if self.value() == key:
                queryset = queryset.filter(price__gte=Decimal(low))
                return queryset.filter(price__lt=Decimal(high)) if high is not None else queryset
        return queryset


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return (("in", "in stock"), ("out", "out of stock"))

    def queryset(self, request, queryset):
        if self.value() == "in":
            return queryset.filter(stock__gt=0)
        if self.value() == "out":
            return queryset.filter(stock__lte=0)
        return queryset


class ProductEventsInline(ReadOnlyInline):
    model = Event
    fk_name = "product"
    verbose_name_plural = f"Recent events (latest {RECENT_PRODUCT_EVENTS})"
    fields = ("timestamp", "type", "shopper", "query", "position", "value", "session")
    readonly_fields = fields
    formset = recent_formset(RECENT_PRODUCT_EVENTS, ("shopper",))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_event")


@admin.register(Product)
class ProductAdmin(TrainingFlagActions, EventsInlineMixin, admin.ModelAdmin):
    events_inline = ProductEventsInline
    inlines = (ProductEventsInline,)
    list_display = (
        "external_id",
        "title",
        "brand",
        "category",
        "price",
        "currency",
        "stock",
        "active",
        "needs_embedding",
        "updated_at",
    )
    list_display_links = ("external_id", "title")
    list_select_related = ("brand", "category")
    list_filter = (
        CategoryTreeFilter,
        "brand",
        PriceRangeFilter,
        StockFilter,
        "active",
        "needs_embedding",
        "exclude_from_training",
    )
    search_fields = ("title", "=external_id", "brand__name")
    training_flag_subject = "product"
    actions = TrainingFlagActions.training_flag_action_names
    autocomplete_fields = ("category", "brand")
    readonly_fields = (
        "search_text",
        "needs_embedding",
        "created_at",
        "updated_at",
        "exclude_from_training",
        "merged_into_link",
    )
    fieldsets = (
        (None, {"fields": ("external_id", "title", "description", "category", "brand")}),
        ("Offer", {"fields": ("price", "currency", "stock", "active", "image_url")}),
        ("Attributes", {"fields": ("attributes",)}),
        ("Search", {"fields": ("search_text", "needs_embedding", "created_at", "updated_at")}),
        ("Data quality", {"fields": ("exclude_from_training", "merged_into_link")}),
    )
    show_facets = admin.ShowFacets.NEVER
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("brand", "category")

    @admin.display(description="merged into")
    def merged_into_link(self, product):
        return merged_into_link(product)

    def save_model(self, request, obj, form, change):
        product_save(product=obj, changed_fields=form.changed_data, actor=request.user)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="catalog_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a CSV / JSON Lines file of a kind the user may write; the same service as the
        commands. Each kind needs the permissions of the rows it writes (``IMPORT_PERMISSIONS``),
        and a full sync its own permission: a kind or a full sync the user may not run is a 403,
        not a form error, and imports nothing."""
        kinds = importable_kinds(request.user)
        if not kinds:
            raise PermissionDenied
        may_full_sync = request.user.has_perm(FULL_SYNC_PERMISSION)
        report = None
        if request.method == "POST":
            if request.POST.get("kind", "products") not in kinds or (
                request.POST.get("full_sync") and not may_full_sync
            ):
                raise PermissionDenied
            form = ImportForm(request.POST, request.FILES, kinds=kinds, full_sync=may_full_sync)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                fmt = form.cleaned_data["format"] or detect_format(upload.name)
                report = catalog_import_file(
                    kind=form.cleaned_data["kind"],
                    source=upload.read(),
                    fmt=fmt,
                    filename=upload.name,
                    skip_invalid=form.cleaned_data["skip_invalid"],
                    full_sync=form.cleaned_data.get("full_sync", False),
                    user=request.user,
                    origin="admin",
                )
                level = (
                    messages.SUCCESS
                    if report.ok and not report.errors
                    else (messages.WARNING if report.ok else messages.ERROR)
                )
                self.message_user(request, report.summary(), level)
        else:
            form = ImportForm(kinds=kinds, full_sync=may_full_sync)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import catalog data",
            "form": form,
            "report": report,
            "errors": report.errors[:500] if report else [],
            "columns": COLUMNS,
            "recent_runs": ImportRun.objects.select_related("user")[:10],
        }
        return TemplateResponse(request, "admin/catalog/import.html", context)
