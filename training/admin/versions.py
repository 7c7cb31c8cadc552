"""Training → Model versions: the list with each task's key metric, a version's comparison with
the active one (table and chart), any two versions side by side, promote and roll back (each
through a service); the active version of a task cannot be deleted."""

from __future__ import annotations

import io
import zipfile

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from platform_core.redirects import safe_next
from training import models, selectors, services, snapshots
from training.activation import parent_tolerance_check as check_parent_tolerance
from training.admin.common import error_text, value_table
from training.admin.data_value import report_links
from training.charts import metric_bars_svg
from training.middleware import deliver_job_notices
from training.models import ModelVersion, ProductEmbedding, Task


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "—" if value is None else str(value)


def metric_table(rows, head_a: str, head_b: str) -> str:
    """Metric rows side by side with their difference, and the same figures as bars."""
    head = format_html("<tr><th>metric</th><th>{}</th><th>{}</th><th>Δ</th></tr>", head_a, head_b)
    body = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                r.name,
                _cell(r.value),
                _cell(r.active_value),
                "" if r.delta is None else f"{r.delta:+.4f}",
            )
            for r in rows
        ),
    )
    chart = metric_bars_svg(
        [(r.name, r.value, r.active_value) for r in rows], labels=(head_a, head_b)
    )
    return format_html('<table class="aisle-compare">{}{}</table>{}', head, body, chart)


def parent_table(obj: ModelVersion) -> str:
    """A quantised child's batch-1 query encoding and retrieval quality beside its parent's, as
    its quantize job measured them (same queries, interleaved timing), and the promotion rule."""
    m = obj.metrics or {}
    parent = m.get("parent_same_split")
    latency = m.get("latency") or {}
    if not obj.parent_id or not isinstance(parent, dict):
        return "— (not a quantised or distilled child)"
    k = m.get("k", 10)
    # quantize times "fp32" and "int8", distill "teacher" and "student"
    fp32 = latency.get("fp32") or latency.get("teacher") or {}
    int8 = latency.get("int8") or latency.get("student") or {}
    rows = [
        (
            f"query encode p50 (ms, batch 1, {latency.get('threads', 1)} thread)",
            int8.get("p50_ms"),
            fp32.get("p50_ms"),
        ),
        ("query encode p95 (ms)", int8.get("p95_ms"), fp32.get("p95_ms")),
        (f"ndcg@{k}", m.get(f"ndcg@{k}"), parent.get(f"ndcg@{k}")),
        (f"recall@{k}", m.get(f"recall@{k}"), parent.get(f"recall@{k}")),
        ("mrr", m.get("mrr"), parent.get("mrr")),
    ]
    if obj.precision == "int8":
        within, why = check_parent_tolerance(m, services.parent_tolerance())
        verdict = "may be promoted" if within else "promotion refused"
    else:
        verdict, why = (
            "promoted like any retriever",
            "against the active version on the same queries",
        )
    body = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
        ((n, _cell(a), _cell(b)) for n, a, b in rows),
    )
    return format_html(
        '<table class="aisle-compare"><tr><th></th><th>this version ({})</th>'
        "<th>parent #{}</th></tr>{}</table><p>{}× faster at p50 · query vectors cosine mean {} · "
        "{} on {} · <strong>{}</strong>: {}</p>",
        obj.precision,
        obj.parent_id,
        body,
        m.get("speedup_p50", "—"),
        (m.get("query_cosine") or {}).get("cosine_mean", "—"),
        m.get("method") or (obj.hyperparameters or {}).get("method", ""),
        m.get("source", ""),
        verdict,
        why,
    )


def heads_table(obj: ModelVersion) -> str:
    """A ranker's heads on its test lists (``training.runners.ranker.heads_report``): click and
    purchase AUC and NDCG@10 by purchases per serving objective, beside today's single-head
    ranker trained on the same lists, with the paired bootstrap interval of the difference."""
    heads = (obj.metrics or {}).get("heads")
    if obj.task != Task.RANKER or not isinstance(heads, dict):
        return "— (not a ranker, or trained before the click and purchase heads)"
    ours, single = heads.get("model") or {}, heads.get("single_head")
    by_ours, by_single = ours.get("by_objective") or {}, (single or {}).get("by_objective") or {}
    rows = [
        (
            "click AUC (click score vs clicks)",
            ours.get("click_auc"),
            (single or {}).get("click_auc"),
        ),
        (
            "purchase AUC (purchase score vs purchases)",
            ours.get("purchase_auc"),
            (single or {}).get("purchase_auc"),
        ),
    ]
    for objective in ("click", "purchase", "blend"):
        if objective in by_ours:
            rows.append(
                (
                    f"NDCG@10 by purchases, ordered by {objective}",
                    by_ours[objective],
                    by_single.get("click"),
                )
            )
    rows.append(("NDCG@10 by engagement", ours.get("ndcg@10"), (single or {}).get("ndcg@10")))
    body = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
        ((n, _cell(a), _cell(b)) for n, a, b in rows),
    )
    interval = heads.get("purchase_ndcg_vs_single")
    note = (
        format_html(
            "NDCG@10 by purchases against one head: {} (95% paired bootstrap {} to {}, {} test "
            "lists with a purchase) — <strong>{}</strong>",
            f"{interval['mean']:+.4f}",
            f"{interval['low']:+.4f}",
            f"{interval['high']:+.4f}",
            interval["lists"],
            "better"
            if interval["low"] > 0
            else "worse"
            if interval["high"] < 0
            else "no clear difference",
        )
        if interval
        else "one head (click) only: no single-head baseline to set beside it"
    )
    blend = heads.get("blend_on_valid")
    if blend:
        note = format_html(
            "{}</p><p>Chosen on the validation lists (NDCG@10 by purchases): purchase weight "
            "<strong>{}</strong> of pCTR · pCVR<sup>w</sup> (1 = the purchase objective; a "
            "strategy's <em>ranker objective</em> and <em>purchase weight</em> set serving)",
            note,
            blend["chosen"],
        )
    return format_html(
        '<table class="aisle-compare"><tr><th>test lists ({} with a purchase)</th>'
        "<th>this version ({} head{})</th><th>one head, same lists</th></tr>{}</table><p>{}</p>",
        ours.get("purchase_lists", 0),
        heads.get("heads", 1),
        "s" if heads.get("heads", 1) > 1 else "",
        body,
        note,
    )


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
    list_filter = ("task", "status", "is_active", "precision")
    search_fields = ("name", "base")
    list_select_related = ("created_by", "job")
    ordering = ("-created_at",)
    actions = ("promote_selected", "rollback_selected_tasks", "compare_selected")
    fields = (
        "task",
        "name",
        "status",
        "is_active",
        "base",
        "parent",
        "job",
        "artifact_dir",
        "precision",
        "vector_space",
        "dimension",
        "vectors",
        "against_parent",
        "ranker_heads",
        "comparison",
        "data_value_reports",
        "hyperparameters_pretty",
        "stored_snapshot",
        "dataset_snapshot_pretty",
        "created_at",
        "created_by",
        "promoted_at",
        "promoted_by",
        "previous_active",
    )
    readonly_fields = tuple(f for f in fields if f != "name")
    change_form_template = "admin/training/modelversion/change_form.html"
    change_list_template = "admin/training/modelversion/change_list.html"

    def has_add_permission(self, request):
        return False  # versions come from jobs and the bootstrap

    @admin.display(description="key metric")
    def key_metric(self, obj: ModelVersion):
        found = selectors.key_metric(obj)
        return str(found) if found else "—"

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
        count = ProductEmbedding.objects.filter(model_version_id=obj.space_id).count()
        missing = selectors.missing_vector_count(obj)
        if obj.vector_space_id:
            return (
                f"serves against version #{obj.vector_space_id}'s vectors (its parent's space, "
                f"no re-embedding): {count}; {missing} active products without one"
            )
        return (
            f"{count} vectors; {missing} active products without one"
            if missing
            else f"{count} vectors (complete)"
        )

    @admin.display(description="speed and quality vs its parent")
    def against_parent(self, obj: ModelVersion):
        return parent_table(obj)

    @admin.display(description="click and purchase heads")
    def ranker_heads(self, obj: ModelVersion):
        return heads_table(obj)

    @admin.display(description="metrics vs the active version")
    def comparison(self, obj: ModelVersion):
        active, rows = selectors.compare_with_active(obj)
        if not rows:
            return "no metrics yet (an evaluate job scores any version)"
        other = (
            f"active #{active.pk} ({active.name})"
            if active
            else ("this version is active" if obj.is_active else "no active version")
        )
        return metric_table(rows, f"this version #{obj.pk}", other)

    @admin.display(description="data-value reports")
    def data_value_reports(self, obj: ModelVersion):
        return report_links(obj.data_value_reports.order_by("-created_at")[:10])

    @admin.display(description="hyperparameters")
    def hyperparameters_pretty(self, obj):
        return value_table(obj.hyperparameters)

    @admin.display(description="stored snapshot")
    def stored_snapshot(self, obj: ModelVersion):
        record = snapshots.frozen_record(obj)
        if record is None:
            return "— (its split is re-derived from the live tables)"
        counts = record.get("counts") or {}
        unit = "event ids" if record.get("unit") == "event" else "queries"
        rows = record.get("rows") or {}
        mined = (
            " mined from " + ", ".join(f"{n} {kind}" for kind, n in sorted(rows.items()))
            if rows
            else ""
        )
        dropped = record.get("dropped") or 0
        return format_html(
            "train {} / valid {} / test {} {}{}; {} kB, checksum <code>{}</code>; "
            '{} rows dropped by forgetting shoppers · <a href="{}">download (.zip)</a>',
            counts.get("train", 0),
            counts.get("valid", 0),
            counts.get("test", 0),
            unit,
            mined,
            round((record.get("bytes") or 0) / 1024, 1),
            (record.get("checksum") or "")[:16],
            dropped,
            reverse("admin:training_modelversion_snapshot", args=[obj.pk]),
        )

    def snapshot_view(self, request, pk: int):
        """The version's stored snapshot as a zip of its .npy files and manifest."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=pk)
        directory = snapshots.snapshot_path(version)
        if snapshots.frozen_record(version) is None or directory is None or not directory.is_dir():
            raise Http404("This version has no stored snapshot.")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for item in sorted(directory.iterdir()):
                if item.is_file():
                    archive.write(item, arcname=f"snapshot-v{version.pk}/{item.name}")
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="aisle-{version.task}-v{version.pk}-snapshot.zip"'
        )
        return response

    @admin.display(description="dataset snapshot")
    def dataset_snapshot_pretty(self, obj):
        snapshot = dict(obj.dataset_snapshot or {})
        snapshot.pop(snapshots.FROZEN_KEY, None)  # shown as "stored snapshot"
        split = dict(snapshot.get("split") or {})
        if "key_hashes" in split:  # thousands of digests: show the counts only
            split["key_hashes"] = {k: f"{len(v)} hashes" for k, v in split["key_hashes"].items()}
            snapshot["split"] = split
        return value_table(snapshot)

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="training_modelversion_promote",
            ),
            path(
                "<int:pk>/snapshot/",
                self.admin_site.admin_view(self.snapshot_view),
                name="training_modelversion_snapshot",
            ),
            path(
                "compare/",
                self.admin_site.admin_view(self.compare_view),
                name="training_modelversion_compare",
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

    @admin.action(
        description="Compare the two selected versions side by side", permissions=["view"]
    )
    def compare_selected(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) != 2:
            self.message_user(request, "Select exactly two versions to compare.", messages.WARNING)
            return None
        url = reverse("admin:training_modelversion_compare")
        return HttpResponseRedirect(f"{url}?a={ids[0]}&b={ids[1]}")

    def compare_view(self, request):
        """Any two versions side by side: facts, metrics (with the difference) and the
        hyperparameters that differ, picked from two lists of every version."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        versions = list(
            ModelVersion.objects.only("pk", "name", "task", "is_active").order_by(
                "task", "-created_at"
            )
        )

        def pick(name):
            try:
                pk = int(request.GET.get(name) or 0)
            except ValueError:
                return None
            return ModelVersion.objects.select_related("job").filter(pk=pk).first()

        a, b = pick("a"), pick("b")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Compare model versions",
            "versions": versions,
            "a": a,
            "b": b,
        }
        if a is not None and b is not None:
            rows = selectors.compare_versions(a, b)
            context["metrics"] = (
                metric_table(rows, f"#{a.pk} {a.name}", f"#{b.pk} {b.name}") if rows else ""
            )
            context["facts"] = [
                (label, fn(a), fn(b))
                for label, fn in (
                    ("task", lambda v: v.get_task_display()),
                    ("status", lambda v: v.get_status_display()),
                    ("active", lambda v: "yes" if v.is_active else "no"),
                    ("key metric", lambda v: str(selectors.key_metric(v) or "—")),
                    ("base", lambda v: v.base or "—"),
                    ("created", lambda v: v.created_at.strftime("%Y-%m-%d %H:%M")),
                    ("job", lambda v: f"#{v.job_id}" if v.job_id else "—"),
                )
            ]
            hyper_a, hyper_b = a.hyperparameters or {}, b.hyperparameters or {}
            context["hyper"] = [
                (
                    key,
                    _cell(hyper_a.get(key)),
                    _cell(hyper_b.get(key)),
                    hyper_a.get(key) != hyper_b.get(key),
                )
                for key in sorted(set(hyper_a) | set(hyper_b))
                if not isinstance(hyper_a.get(key), dict | list)
                and not isinstance(hyper_b.get(key), dict | list)
            ]
            context["same_task"] = a.task == b.task
        return TemplateResponse(request, "admin/training/modelversion/compare.html", context)

    # -- the active version stays -------------------------------------------------------------
    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_active:
            return False  # no Delete button on the active version's page
        return super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        version = ModelVersion.objects.filter(pk=object_id).first()
        # permission to delete versions at all (the active one is refused below, with why)
        if version is None or not super().has_delete_permission(request, version):
            return super().delete_view(request, object_id, extra_context)  # 403 / not found
        if version.is_active:
            self.message_user(
                request, models.active_version_delete_error(version).messages[0], messages.ERROR
            )
            return redirect("admin:training_modelversion_change", version.pk)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                type(self).delete_selected_inactive,
                "delete_selected",
                "Delete the selected versions (never an active one)",
            )
        return actions

    @admin.action(
        description="Delete the selected versions (never an active one)", permissions=["delete"]
    )
    def delete_selected_inactive(self, request, queryset):
        """Django's delete action on the selection less its active versions (said so)."""
        from django.contrib.admin.actions import delete_selected

        for version in queryset.filter(is_active=True):
            self.message_user(
                request, models.active_version_delete_error(version).messages[0], messages.ERROR
            )
        rest = queryset.filter(is_active=False)
        if not rest.exists():
            return None
        return delete_selected(self, request, rest)

    def changelist_view(self, request, extra_context=None):
        deliver_job_notices(request)
        extra_context = {
            **(extra_context or {}),
            "compare_url": reverse("admin:training_modelversion_compare"),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        deliver_job_notices(request)
        return super().change_view(request, object_id, form_url, extra_context)
