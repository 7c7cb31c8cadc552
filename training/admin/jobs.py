"""Training → Jobs (live progress, cancel, retry, the launch form built from a kind's parameters)
and Job notices."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from training import selectors, services
from training.admin.common import error_text, value_table
from training.admin.data_value import report_links
from training.admin.launch import kind_cards, launch_form_class
from training.charts import job_charts, progress_bar
from training.jobs import job_kinds
from training.middleware import deliver_job_notices
from training.models import Job, JobNotice


def job_live_context(job: Job) -> dict:
    """What the live panel of a job page shows (also served alone as the refresh partial)."""
    history = job.metrics_history or []
    return {
        "job": job,
        "bar": progress_bar(job.progress, job.status, width=320),
        "charts": job_charts(history),
        "queue_position": selectors.job_queue_position(job),
        "active": job.status in (Job.Status.QUEUED, Job.Status.RUNNING),
        "metrics_table": value_table(job.metrics) if job.metrics else "",
        "log_tail": "\n".join((job.log or "").splitlines()[-200:]),
    }


class JobKindFilter(admin.SimpleListFilter):
    """The kinds by their names for people (the registry's titles)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(name, kind.display_name) for name, kind in job_kinds().items()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind_title",
        "status",
        "progress_bar",
        "message",
        "device",
        "created_by",
        "created_at",
        "duration",
        "version_link",
        "activation",
    )
    list_filter = (
        JobKindFilter,
        "status",
        "activation",
        "queue",
        "device",
        ("schedule", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("kind", "message", "error", "activation_reason", "schedule__name")
    list_select_related = ("created_by", "result_version")
    date_hierarchy = "created_at"
    actions = ("cancel_selected", "retry_selected")
    change_form_template = "admin/training/job/change_form.html"
    fields = (
        "kind_title",
        "status",
        "queue",
        "params_pretty",
        "attempt",
        "retry_of",
        "result_version",
        "data_value_reports",
        "activation",
        "activation_reason",
        "schedule",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "timings_table",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return self.has_module_permission(request) and request.user.has_perm("training.add_job")

    @admin.display(description="kind", ordering="kind")
    def kind_title(self, obj: Job):
        kind = job_kinds().get(obj.kind)
        return f"{kind.display_name} ({obj.kind})" if kind else obj.kind

    @admin.display(description="data-value report")
    def data_value_reports(self, obj: Job):
        if obj.kind != "data_value":
            return "—"
        return report_links(obj.data_value_reports.order_by("-created_at"))

    @admin.display(description="progress")
    def progress_bar(self, obj: Job):
        return progress_bar(obj.progress, obj.status)

    @admin.display(description="duration")
    def duration(self, obj: Job):
        if not obj.started_at:
            return "—"
        end = obj.finished_at or obj.heartbeat_at or obj.started_at
        seconds = (end - obj.started_at).total_seconds()
        return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

    @admin.display(description="version")
    def version_link(self, obj: Job):
        if not obj.result_version_id:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:training_modelversion_change", args=[obj.result_version_id]),
            obj.result_version_id,
        )

    @admin.display(description="parameters")
    def params_pretty(self, obj: Job):
        """The parameters under their labels from the kind's registry entry."""
        kind = job_kinds().get(obj.kind)
        titles = {p.name: p.title for p in kind.params} if kind else {}
        return value_table({titles.get(k, k): v for k, v in (obj.params or {}).items()})

    @admin.display(description="timings (seconds)")
    def timings_table(self, obj: Job):
        return value_table(obj.timings)

    def get_urls(self):
        urls = [
            path(
                "launch/", self.admin_site.admin_view(self.launch_view), name="training_job_launch"
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="training_job_progress",
            ),
            path(
                "<int:pk>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="training_job_cancel",
            ),
            path(
                "<int:pk>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="training_job_retry",
            ),
        ]
        return urls + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:training_job_launch")

    def changelist_view(self, request, extra_context=None):
        deliver_job_notices(request)
        extra_context = {
            **(extra_context or {}),
            "launch_url": reverse("admin:training_job_launch"),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        deliver_job_notices(request)
        job = Job.objects.filter(pk=object_id).select_related("created_by").first()
        extra = dict(extra_context or {})
        if job is not None:
            extra.update(job_live_context(job))
            extra["progress_url"] = reverse("admin:training_job_progress", args=[job.pk])
            extra["can_change"] = request.user.has_perm("training.change_job")
            extra["can_add"] = request.user.has_perm("training.add_job")
        extra["show_save"] = extra["show_save_and_continue"] = extra[
            "show_save_and_add_another"
        ] = False
        return super().change_view(request, object_id, form_url, extra)

    def progress_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(Job.objects.select_related("created_by"), pk=pk)
        return TemplateResponse(request, "admin/training/job/_live.html", job_live_context(job))

    def cancel_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("training.change_job"):
            raise PermissionDenied
        job = get_object_or_404(Job, pk=pk)
        try:
            services.job_cancel(job=job, user=request.user)
            self.message_user(request, f"Cancel requested for job #{job.pk}.", messages.SUCCESS)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        return redirect("admin:training_job_change", pk)

    def retry_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("training.add_job"):
            raise PermissionDenied
        job = get_object_or_404(Job, pk=pk)
        try:
            with transaction.atomic():
                new = services.job_retry(job=job, user=request.user)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return redirect("admin:training_job_change", pk)
        self.message_user(
            request,
            f"Job #{new.pk} queued as attempt {new.attempt} of job #{job.pk}.",
            messages.SUCCESS,
        )
        return redirect("admin:training_job_change", new.pk)

    @admin.action(description="Cancel the selected jobs", permissions=["change"])
    def cancel_selected(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                services.job_cancel(job=job, user=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, error_text(exc), messages.WARNING)
        if done:
            self.message_user(request, f"Cancel requested for {done} job(s).", messages.SUCCESS)

    @admin.action(description="Retry the selected failed / cancelled jobs", permissions=["add"])
    def retry_selected(self, request, queryset):
        for job in queryset:
            try:
                with transaction.atomic():
                    new = services.job_retry(job=job, user=request.user)
                self.message_user(
                    request,
                    f"Job #{new.pk} queued (attempt {new.attempt} of #{job.pk}).",
                    messages.SUCCESS,
                )
            except ValidationError as exc:
                self.message_user(request, error_text(exc), messages.WARNING)

    # ------------------------------------------------------------------ launch form
    def launch_view(self, request):
        """No kind is chosen until the operator picks one: each card says what the kind does and
        how long it should take here; the chosen kind's form has its parameters in words."""
        if not request.user.has_perm("training.add_job"):
            raise PermissionDenied
        kinds = job_kinds()
        kind_name = request.POST.get("kind") or request.GET.get("kind") or ""
        kind = kinds.get(kind_name)
        form = None
        if kind is not None:
            form_class = launch_form_class(kind)
            if request.method == "POST":
                form = form_class(request.POST)
                job = self._launch(request, kind, form) if form.is_valid() else None
                if job is not None:
                    return HttpResponseRedirect(reverse("admin:training_job_change", args=[job.pk]))
            else:
                form = form_class(initial={"kind": kind.name})
        cards = kind_cards()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Launch a job: {kind.display_name}" if kind else "Launch a job",
            "form": form,
            "cards": cards,
            "kind": kind,
            "card": next((c for c in cards if kind and c.kind.name == kind.name), None),
            "media": self.media + (form.media if form else forms.Media()),
        }
        return TemplateResponse(request, "admin/training/job/launch.html", context)

    def _launch(self, request, kind, form) -> Job | None:
        params = {k: v for k, v in form.cleaned_data.items() if k != "kind" and v not in (None, "")}
        try:
            with transaction.atomic():
                job = services.job_launch(kind=kind.name, params=params, user=request.user)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(
                        field if field in form.fields else None,
                        [m for e in errors for m in e.messages],
                    )
            else:
                form.add_error(None, exc.messages)
            return None
        self.message_user(
            request,
            f"Job #{job.pk} ({kind.display_name}) queued on '{job.queue}'.",
            messages.SUCCESS,
        )
        return job


@admin.register(JobNotice)
class JobNoticeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "level", "message", "delivered_at")
    list_filter = ("level",)
    list_select_related = ("user", "job")
    readonly_fields = ("user", "job", "level", "message", "created_at", "delivered_at")

    def has_add_permission(self, request):
        return False
