"""Importing through the admin: what each kind needs (permissions, the form of the Import page)
and the list of import runs."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from catalog.formats.contract import KINDS
from catalog.models import ImportRun

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
