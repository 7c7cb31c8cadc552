"""Admin of the catalog: tree of categories, brands, products (with their recent events and
the Import page), shoppers (timeline, forget / export), events, search log (zero-result
report) and import runs. Big tables (events, search log) never run a full COUNT(*)."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from catalog import selectors
from catalog.formats.contract import COLUMNS, KINDS
from catalog.formats.reading import detect_format
from catalog.formats.records import as_category_id
from catalog.formats.values import Invalid
from catalog.models import Brand, Category, Event, ImportRun, Product, SearchLog, Shopper
from catalog.services.edits import brand_save, category_save, product_save
from catalog.services.imports import catalog_import_file
from catalog.services.privacy import shopper_export, shopper_forget

RECENT_PRODUCT_EVENTS = 20
SHOPPER_TIMELINE_EVENTS = 50


# --- Shared pieces ---------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Counts without scanning a big table: the unfiltered list uses PostgreSQL's row
    estimate (``pg_class.reltuples``); a filtered list counts at most ``EXACT_UP_TO`` rows and
    falls back to the planner's estimate beyond that."""

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not qs.query.where:
            estimate = selectors.table_row_estimate(qs.model._meta.db_table)
            if estimate > self.EXACT_UP_TO:
                return estimate
        bounded = qs.order_by()[: self.EXACT_UP_TO + 1].count()
        if bounded <= self.EXACT_UP_TO:
            return bounded
        return max(selectors.query_row_estimate(qs), bounded)


class BigTableAdmin(admin.ModelAdmin):
    """List settings for tables that grow without bound."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _recent_formset(limit: int, related: tuple[str, ...]):
    class RecentFormSet(BaseInlineFormSet):
        """Only the ``limit`` most recent rows (a sliced, evaluated list)."""

        def get_queryset(self):
            if not hasattr(self, "_recent"):
                self._recent = list(super().get_queryset().select_related(*related)[:limit])
            return self._recent

    return RecentFormSet


class EventsInlineMixin:
    """The events inline is for reading; it is left out of POSTs so saving the parent never
    validates a list that moved meanwhile."""

    events_inline: type

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if request.method != "GET" or obj is None:
            inlines = [i for i in inlines if not isinstance(i, self.events_inline)]
        return inlines


# --- Categories and brands -------------------------------------------------------------------


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("external_id", "name", "parent")

    def clean_external_id(self):
        try:
            return as_category_id(self.cleaned_data["external_id"])
        except Invalid as exc:
            raise forms.ValidationError(f"The external id {exc}.") from None

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent and self.instance.pk and self.instance.external_id in parent.path.split("/"):
            raise forms.ValidationError(
                "A category cannot be placed under itself or its own subtree."
            )
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("tree_name", "external_id", "path", "depth", "product_count")
    search_fields = ("name", "external_id")
    readonly_fields = ("path", "depth")
    autocomplete_fields = ("parent",)
    ordering = ("path",)
    list_per_page = 200

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="Category", ordering="path")
    def tree_name(self, obj: Category) -> str:
        return format_html("{}{}", "— " * obj.depth, obj.name)

    @admin.display(description="Products", ordering="product_count")
    def product_count(self, obj: Category) -> int:
        return obj.product_count

    def save_model(self, request, obj, form, change):
        category_save(category=obj, changed_fields=form.changed_data, actor=request.user)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "product_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="Products", ordering="product_count")
    def product_count(self, obj: Brand) -> int:
        return obj.product_count

    def save_model(self, request, obj, form, change):
        brand_save(brand=obj, changed_fields=form.changed_data, actor=request.user)


# --- Products --------------------------------------------------------------------------------


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
    formset = _recent_formset(RECENT_PRODUCT_EVENTS, ("shopper",))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_event")


@admin.register(Product)
class ProductAdmin(EventsInlineMixin, admin.ModelAdmin):
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
    )
    search_fields = ("title", "=external_id", "brand__name")
    autocomplete_fields = ("category", "brand")
    readonly_fields = ("search_text", "needs_embedding", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "title", "description", "category", "brand")}),
        ("Offer", {"fields": ("price", "currency", "stock", "active", "image_url")}),
        ("Attributes", {"fields": ("attributes",)}),
        ("Search", {"fields": ("search_text", "needs_embedding", "created_at", "updated_at")}),
    )
    show_facets = admin.ShowFacets.NEVER
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("brand", "category")

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


# What each import kind writes, as the permissions it needs (all of them). Brands named by a
# product row are part of that product's data; events create the shoppers they name.
IMPORT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "products": ("catalog.add_product", "catalog.change_product"),
    "categories": ("catalog.add_category", "catalog.change_category"),
    "shoppers": ("catalog.add_shopper", "catalog.change_shopper"),
    "events": ("catalog.add_event", "catalog.add_shopper"),
}
# Deactivates every active product absent from the file: operators only (platform_core.roles);
# no lab grants it (courses.labs.NEVER_GRANTED_BY_LABS).
FULL_SYNC_PERMISSION = "catalog.full_sync_product"


def importable_kinds(user) -> list[str]:
    """The import kinds ``user`` may run, in the contract's order."""
    return [kind for kind in KINDS if user.has_perms(IMPORT_PERMISSIONS[kind])]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON Lines (one object per line).")
    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS], initial="products")
    format = forms.ChoiceField(
        choices=[("", "from the file name"), ("csv", "CSV"), ("jsonl", "JSON Lines")],
        required=False,
    )
    skip_invalid = forms.BooleanField(
        required=False,
        help_text="Import the valid rows and report the others "
        "(by default a file with any invalid row imports nothing).",
    )
    full_sync = forms.BooleanField(
        required=False, help_text="Products only: deactivate active products absent from the file."
    )

    def __init__(self, *args, kinds: list[str] | None = None, full_sync: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(k, k) for k in kinds]
            if "products" not in kinds:
                self.fields["kind"].initial = kinds[0] if kinds else None
        if not full_sync or (kinds is not None and "products" not in kinds):
            del self.fields["full_sync"]

    def clean(self):
        data = super().clean()
        if data.get("full_sync") and data.get("kind") != "products":
            raise forms.ValidationError("Full sync applies to products only.")
        return data


# --- Shoppers --------------------------------------------------------------------------------


class ShopperEventsInline(ReadOnlyInline):
    model = Event
    fk_name = "shopper"
    verbose_name_plural = f"Event timeline (latest {SHOPPER_TIMELINE_EVENTS})"
    fields = ("timestamp", "type", "product", "query", "position", "value", "review", "session")
    readonly_fields = fields
    formset = _recent_formset(SHOPPER_TIMELINE_EVENTS, ("product",))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_event")


@admin.register(Shopper)
class ShopperAdmin(EventsInlineMixin, admin.ModelAdmin):
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
    list_filter = ("segment", "country")
    search_fields = ("=external_id",)
    readonly_fields = ("category_interests", "profile_version", "created_at", "last_seen_at")
    actions = ("forget_shoppers", "export_shoppers")
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


# --- Events and searches ---------------------------------------------------------------------


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
    list_filter = ("type", ("timestamp", admin.DateFieldListFilter))
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


# --- Import runs -----------------------------------------------------------------------------


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "source",
        "filename",
        "status",
        "total_rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "deactivated",
        "user",
    )
    list_filter = ("kind", "status", "source")
    list_select_related = ("user",)
    search_fields = ("filename",)
    fields = (
        "created_at",
        "kind",
        "source",
        "filename",
        "status",
        "user",
        "total_rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "deactivated",
        "duration_seconds",
        "warning_list",
        "error_report",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was imported, by whom: read-only

    @admin.display(description="Warnings")
    def warning_list(self, obj: ImportRun) -> str:
        return format_html_join("", "<div>{}</div>", ((w,) for w in obj.warnings)) or "—"

    @admin.display(description="Errors (line or index, field, reason)")
    def error_report(self, obj: ImportRun) -> str:
        if not obj.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.get("line")
                    if e.get("line") is not None
                    else (e.get("index") if e.get("index") is not None else ""),
                    e.get("field") or "",
                    e.get("reason", ""),
                )
                for e in obj.errors
            ),
        )
        return format_html(
            "<table><thead><tr><th>Line / index</th><th>Field</th><th>Reason</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )
