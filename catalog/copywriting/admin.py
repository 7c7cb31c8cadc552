"""Catalog → Copy drafts: the approval queue of drafted descriptions, and the banned words.

The list shows each pending draft with its drafter and the guardrails' verdicts (filters by
status, verdict, failed check and drafter); "approve" in bulk publishes only the drafts that
pass every check. A draft's page shows the current description and the draft side by side,
the verdicts (a failing draft is marked, never hidden), and Save (the guardrails run again on
the edited text), Approve and publish, or Reject. Every write goes through
:mod:`catalog.copywriting.services` (audited).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog.copywriting import services
from catalog.copywriting.logic.drafting import TEMPLATE_DRAFTER
from catalog.copywriting.logic.guardrails import CHECK_NAMES
from catalog.copywriting.models import BannedWord, CopyDraft, DraftStatus

CHECK_LABELS = {
    "attributes": "only the product's own attribute values",
    "banned_words": "no banned words",
    "length": "length within bounds",
    "duplicate": "not a copy of another product's description",
}


def drafter_label(drafter: str) -> str:
    if drafter == TEMPLATE_DRAFTER:
        return "offline template/extractive drafter (no language model)"
    return drafter.replace("model:", "generative model ", 1)


class FailedCheckFilter(admin.SimpleListFilter):
    title = "failed check"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [(name, CHECK_LABELS[name]) for name in CHECK_NAMES]

    def queryset(self, request, queryset):
        if self.value() in CHECK_NAMES:
            return queryset.filter(checks__contains=[{"name": self.value(), "ok": False}])
        return queryset


class CopyKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("description", "product descriptions"), ("line", "promotion lines per segment")]

    def queryset(self, request, queryset):
        if self.value() == "description":
            return queryset.filter(segment="")
        if self.value() == "line":
            return queryset.exclude(segment="")
        return queryset


class CopyDraftForm(forms.ModelForm):
    class Meta:
        model = CopyDraft
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 12})}


@admin.register(CopyDraft)
class CopyDraftAdmin(admin.ModelAdmin):
    form = CopyDraftForm
    change_form_template = "admin/copywriting/copydraft/change_form.html"
    list_display = (
        "product_link",
        "kind_shown",
        "draft_excerpt",
        "status",
        "verdict",
        "drafter_shown",
        "edited",
        "created_at",
    )
    list_filter = (
        "status",
        "passes_checks",
        CopyKindFilter,
        FailedCheckFilter,
        "drafter",
        "edited",
        "segment",
    )
    search_fields = ("product__title", "product__external_id", "text", "segment")
    list_select_related = ("product",)
    readonly_fields = ("product", "drafter_shown", "status", "reviewed_by", "reviewed_at")
    actions = ("approve_passing", "reject_selected")
    list_per_page = 50

    @admin.display(description="product", ordering="product__title")
    def product_link(self, obj):
        return format_html("{} <small>({})</small>", obj.product.title, obj.product.external_id)

    @admin.display(description="for", ordering="segment")
    def kind_shown(self, obj):
        if obj.segment:
            return format_html("promotion line · segment <em>{}</em>", obj.segment)
        return "description"

    @admin.display(description="draft")
    def draft_excerpt(self, obj):
        # what a bulk approval would publish, readable from the list
        return obj.text if len(obj.text) <= 160 else obj.text[:157].rsplit(" ", 1)[0] + " …"

    @admin.display(description="guardrails", ordering="passes_checks")
    def verdict(self, obj):
        if obj.passes_checks:
            return mark_safe('<span class="aisle-check-ok">passes every check</span>')
        return format_html(
            '<span class="aisle-check-fail">marked: {}</span>',
            ", ".join(c["name"] for c in obj.failed_checks),
        )

    @admin.display(description="written by", ordering="drafter")
    def drafter_shown(self, obj):
        return drafter_label(obj.drafter)

    def has_add_permission(self, request):
        return False  # drafts come from the generate_copy job

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != DraftStatus.PENDING:
            return False
        return super().has_change_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "reviewed_by")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                draft=obj,
                drafter_text=drafter_label(obj.drafter),
                check_rows=[
                    (c.get("ok"), CHECK_LABELS.get(c.get("name"), c.get("name")), c.get("detail"))
                    for c in obj.checks
                ],
                source_links=format_html_join(
                    ", ",
                    '<a href="{}">#{}</a>',
                    (
                        (reverse("admin:catalog_product_change", args=[pk]), pk)
                        for pk in obj.sources
                    ),
                ),
                product_url=reverse("admin:catalog_product_change", args=[obj.product_id]),
                can_review=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if "text" in form.changed_data:
            services.draft_edit(draft=obj, text=form.cleaned_data["text"], actor=request.user)

    def log_change(self, request, obj, message):
        return None  # the services audit every write (platform_core AuditLog)

    def response_change(self, request, obj):
        try:
            if "_approve" in request.POST:
                services.draft_approve(draft=obj, actor=request.user)
                published = (
                    f"Published: /api/v1/promotions now shows this line for {obj.product.title} "
                    f"to the shoppers of segment {obj.segment}."
                    if obj.segment
                    else f"Published: {obj.product.title} now has the approved description "
                    "(marked for re-embedding)."
                )
                self.message_user(request, published, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:copywriting_copydraft_changelist"))
            if "_reject" in request.POST:
                services.draft_reject(draft=obj, actor=request.user)
                self.message_user(request, "Draft rejected.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:copywriting_copydraft_changelist"))
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)
        if not obj.passes_checks:
            self.message_user(
                request,
                "Saved; the draft is still marked: "
                + ", ".join(c["name"] for c in obj.failed_checks),
                messages.WARNING,
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(
        description="Approve and publish the selected drafts that pass every check",
        permissions=["change"],
    )
    def approve_passing(self, request, queryset):
        approved, skipped = services.drafts_bulk_approve(
            drafts=queryset.select_related("product"), actor=request.user
        )
        self.message_user(
            request,
            f"{approved} draft(s) published; {skipped} left for review (marked by a guardrail "
            "or no longer pending: approve a marked draft on its own page).",
            messages.SUCCESS if approved else messages.WARNING,
        )

    @admin.action(description="Reject the selected drafts", permissions=["change"])
    def reject_selected(self, request, queryset):
        n = services.drafts_bulk_reject(drafts=queryset, actor=request.user)
        self.message_user(request, f"{n} draft(s) rejected.", messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("approve_passing", None)
            actions.pop("reject_selected", None)
        return actions


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    """Words and phrases no draft may use (checked on every new draft and every edit)."""

    list_display = ("word", "note", "created_at")
    search_fields = ("word", "note")
    list_filter = (("created_at", admin.DateFieldListFilter),)
