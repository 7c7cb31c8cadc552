"""Catalog → Data quality reports: each report's checks with counts, examples (linked to the
products, shoppers, categories and events they name) and the fix actions — exclude from
training, merge duplicates. Reports are records: never added or deleted by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from catalog.models import DataQualityReport
from catalog.services.quality import FIXES, quality_fix_apply, training_flags_set

# The permission a check's fix needs: flags change rows of that model; a merge changes products.
FIX_PERMISSIONS = {
    "merge": "catalog.change_product",
    "product": "catalog.change_product",
    "shopper": "catalog.change_shopper",
    "event": "catalog.change_event",
}
FIX_LABELS = {
    "merge": "Merge every group (keeps the product with the most events)",
    "product": "Exclude these products from training",
    "shopper": "Exclude these shoppers from training",
    "event": "Exclude these events from training",
}
LINKED = {"product": "product", "shopper": "shopper", "category": "category", "event": "event"}
NOT_DETAILS = {
    "product",
    "shopper",
    "category",
    "event",
    "external_id",
    "title",
    "name",
    "products",
}


def _url(model: str, pk: Any) -> str:
    return reverse(f"admin:catalog_{model}_change", args=[pk]) if pk else ""


def example_rows(check: dict) -> list[dict]:
    """Each stored example as links (label, url) and a line of details, for the template."""
    rows = []
    for example in check.get("examples", []):
        links: list[tuple[str, str]] = []
        for product in example.get("products", []):
            label = f"{product['external_id']} — {product['title']}"
            links.append((label, _url("product", product["product"])))
        for key, model in LINKED.items():
            if key in example and not (key == "product" and "products" in example):
                label = {
                    "product": f"{example.get('external_id', '')} — {example.get('title', '')}",
                    "shopper": example.get("external_id") or f"shopper #{example.get('shopper')}",
                    "category": f"{example.get('name', '')} ({example.get('path', '')})",
                    "event": f"event #{example.get('event')}",
                }[key]
                if key == "product" and check["subject"] == "event" and "event" in example:
                    label = f"product #{example['product']}"
                if key == "shopper" and check["subject"] == "event":
                    label = f"shopper {example.get('external_id', '')}"
                links.append((label.strip(" —"), _url(model, example[key])))
        details = ", ".join(
            f"{k.replace('_', ' ')}: {v}"
            for k, v in example.items()
            if k not in NOT_DETAILS and k != "path"
        )
        rows.append({"links": links, "details": details})
    return rows


@admin.register(DataQualityReport)
class DataQualityReportAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "created_at",
        "trigger",
        "issues_found",
        "summary",
        "duration",
        "job_link",
    )
    list_filter = ("trigger", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=job_id", "=import_run__id")
    date_hierarchy = "created_at"
    list_select_related = ("import_run",)

    @admin.display(description="found")
    def summary(self, report: DataQualityReport) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in report.counts.items() if n)

    @admin.display(description="seconds", ordering="duration_seconds")
    def duration(self, report: DataQualityReport) -> str:
        return f"{report.duration_seconds:.1f}"

    @admin.display(description="job")
    def job_link(self, report: DataQualityReport) -> str:
        if not report.job_id:
            return "—"
        try:  # the training app's page (the catalog does not import training)
            url = reverse("admin:training_job_change", args=[report.job_id])
        except NoReverseMatch:
            return f"#{report.job_id}"
        return format_html('<a href="{}">#{}</a>', url, report.job_id)

    def has_add_permission(self, request):
        return False  # a report is made by the data_quality job (on import or on demand)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/fix/",
                self.admin_site.admin_view(self.fix_view),
                name="catalog_dataqualityreport_fix",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "launch_url": _launch_url()}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        if report is None or not self.has_view_permission(request, report):
            return super().change_view(request, object_id, form_url, extra_context)
        checks = []
        for check in report.checks:
            fix = FIXES.get(check["name"])
            allowed = bool(fix) and request.user.has_perm(FIX_PERMISSIONS[fix])
            checks.append(
                {
                    **check,
                    "rows": example_rows(check),
                    "fix": fix if allowed and check["count"] else "",
                    "fix_label": FIX_LABELS.get(fix or "", ""),
                    "shown": len(check.get("examples", [])),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(report),
            "report": report,
            "checks": checks,
            "launch_url": _launch_url(),
            "fix_url": reverse("admin:catalog_dataqualityreport_fix", args=[report.pk]),
        }
        return TemplateResponse(request, "admin/catalog/dataqualityreport/report.html", context)

    def fix_view(self, request, pk: int):
        """POST ``check`` (and ``group`` for one duplicate group): apply that check's fix."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not any(request.user.has_perm(perm) for perm in FIX_PERMISSIONS.values()):
            raise PermissionDenied  # readers (analysts) fix nothing
        report = get_object_or_404(DataQualityReport, pk=pk)
        check = request.POST.get("check", "")
        fix = FIXES.get(check)
        back = reverse("admin:catalog_dataqualityreport_change", args=[report.pk])
        if fix is None:
            self.message_user(request, f"No fix for {check!r}.", messages.ERROR)
            return HttpResponseRedirect(back)
        if not request.user.has_perm(FIX_PERMISSIONS[fix]):
            raise PermissionDenied
        group = request.POST.get("group")
        try:
            message = quality_fix_apply(
                report=report,
                check=check,
                user=request.user,
                group=int(group) if group not in (None, "") else None,
            )
        except (ValidationError, ValueError) as exc:
            self.message_user(
                request, "; ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR
            )
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(back)


def _launch_url() -> str:
    """The job launch form with the data_quality kind chosen (the training app's page)."""
    try:
        return reverse("admin:training_job_launch") + "?kind=data_quality"
    except NoReverseMatch:
        return ""


class TrainingFlagActions:
    """Changelist actions that set and clear a model's exclude-from-training flag (audited);
    the admin names its subject in ``training_flag_subject`` and lists the two actions."""

    training_flag_subject = ""
    training_flag_action_names = ("exclude_from_training", "include_in_training")

    @admin.action(description="Exclude selected from training", permissions=["change"])
    def exclude_from_training(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        subject = self.training_flag_subject
        n = training_flags_set(subject=subject, ids=ids, exclude=True, user=request.user)
        self.message_user(request, f"{n} {subject}(s) excluded from training.")

    @admin.action(description="Include selected in training again", permissions=["change"])
    def include_in_training(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        subject = self.training_flag_subject
        n = training_flags_set(subject=subject, ids=ids, exclude=False, user=request.user)
        self.message_user(request, f"{n} {subject}(s) included in training again.")


def merged_into_link(product) -> str:
    if not product.merged_into_id:
        return "—"
    return format_html(
        '<a href="{}">{}</a>', _url("product", product.merged_into_id), product.merged_into
    )
