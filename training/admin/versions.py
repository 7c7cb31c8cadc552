"""Training → Model versions: the list with each task's key metric, a version's comparison with
the active one, promote and roll back (each through a service)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from platform_core.redirects import safe_next
from training import selectors, services
from training.admin.common import error_text, pretty_json
from training.middleware import deliver_job_notices
from training.models import ModelVersion, ProductEmbedding, Task

KEY_METRICS = {
    Task.RETRIEVER: "ndcg@10",
    Task.INTENT: "macro_f1",
    Task.SENTIMENT: "macro_f1",
    Task.CF: "ndcg@20",
    Task.RANKER: "ndcg@10",
}


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "name",
        "status",
        "is_active",
        "key_metric",
        "created_at",
        "created_by",
        "job_link",
    )
    list_display_links = ("id", "name")
    list_filter = ("task", "status", "is_active")
    search_fields = ("name", "base")
    list_select_related = ("created_by", "job")
    ordering = ("-created_at",)
    actions = ("promote_selected", "rollback_selected_tasks")
    fields = (
        "task",
        "name",
        "status",
        "is_active",
        "base",
        "parent",
        "job",
        "artifact_dir",
        "dimension",
        "vectors",
        "comparison",
        "hyperparameters_pretty",
        "dataset_snapshot_pretty",
        "created_at",
        "created_by",
        "promoted_at",
        "promoted_by",
        "previous_active",
    )
    readonly_fields = tuple(f for f in fields if f != "name")
    change_form_template = "admin/training/modelversion/change_form.html"

    def has_add_permission(self, request):
        return False  # versions come from jobs and the bootstrap

    @admin.display(description="key metric")
    def key_metric(self, obj: ModelVersion):
        name = KEY_METRICS.get(obj.task)
        value = (obj.metrics or {}).get(name)
        return f"{name} {value:.4f}" if isinstance(value, int | float) else "—"

    @admin.display(description="job")
    def job_link(self, obj: ModelVersion):
        if not obj.job_id:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:training_job_change", args=[obj.job_id]),
            obj.job_id,
        )

    @admin.display(description="product vectors")
    def vectors(self, obj: ModelVersion):
        if obj.task != Task.RETRIEVER:
            return "—"
        count = ProductEmbedding.objects.filter(model_version=obj).count()
        missing = selectors.missing_vector_count(obj)
        return (
            f"{count} vectors; {missing} active products without one"
            if missing
            else f"{count} vectors (complete)"
        )

    @admin.display(description="metrics vs the active version")
    def comparison(self, obj: ModelVersion):
        active, rows = selectors.compare_with_active(obj)
        if not rows:
            return "no metrics"
        head = format_html(
            "<tr><th>metric</th><th>this version #{}</th><th>{}</th><th>Δ</th></tr>",
            obj.pk,
            f"active #{active.pk} ({active.name})"
            if active
            else ("this version is active" if obj.is_active else "no active version"),
        )

        def cell(value):
            return (
                f"{value:.4f}"
                if isinstance(value, float)
                else ("—" if value is None else str(value))
            )

        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r.name,
                    cell(r.value),
                    cell(r.active_value),
                    "" if r.delta is None else f"{r.delta:+.4f}",
                )
                for r in rows
            ),
        )
        return format_html('<table class="aisle-compare">{}{}</table>', head, body)

    @admin.display(description="hyperparameters")
    def hyperparameters_pretty(self, obj):
        return pretty_json(obj.hyperparameters)

    @admin.display(description="dataset snapshot")
    def dataset_snapshot_pretty(self, obj):
        snapshot = dict(obj.dataset_snapshot or {})
        split = dict(snapshot.get("split") or {})
        if "key_hashes" in split:  # thousands of digests: show the counts only
            split["key_hashes"] = {k: f"{len(v)} hashes" for k, v in split["key_hashes"].items()}
            snapshot["split"] = split
        return pretty_json(snapshot)

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="training_modelversion_promote",
            ),
            path(
                "rollback/<str:task>/",
                self.admin_site.admin_view(self.rollback_view),
                name="training_modelversion_rollback",
            ),
        ]
        return urls + super().get_urls()

    def _require_change(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied

    def promote_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_change(request)
        version = get_object_or_404(ModelVersion, pk=pk)
        self._promote(request, version)
        return redirect("admin:training_modelversion_change", pk)

    def rollback_view(self, request, task: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_change(request)
        self._rollback(request, task)
        return redirect(safe_next(request, reverse("admin:training_modelversion_changelist")))

    def _promote(self, request, version: ModelVersion) -> None:
        try:
            services.model_promote(version=version, user=request.user)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        else:
            self.message_user(
                request, f"{version.task} version #{version.pk} is now active.", messages.SUCCESS
            )

    def _rollback(self, request, task: str) -> None:
        try:
            version = services.model_rollback(task=task, user=request.user)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Rolled back: {task} version #{version.pk} is active again.",
                messages.SUCCESS,
            )

    @admin.action(
        description="Promote the selected version (make it active)", permissions=["change"]
    )
    def promote_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.WARNING)
            return
        self._promote(request, queryset.get())

    @admin.action(
        description="Roll back the selected versions' tasks to their previous version",
        permissions=["change"],
    )
    def rollback_selected_tasks(self, request, queryset):
        for task in sorted(set(queryset.values_list("task", flat=True))):
            self._rollback(request, task)

    def changelist_view(self, request, extra_context=None):
        deliver_job_notices(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        deliver_job_notices(request)
        return super().change_view(request, object_id, form_url, extra_context)
