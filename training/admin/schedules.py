"""Training → Job schedules: scheduled retraining (a kind with its parameters, daily or weekly at
a time, promote_if_better on by default) and the history of the jobs each schedule launched.
Saving goes through ``training.schedules.schedule_save`` (validated against the kind's
parameters, audited); beat launches the due ones through the normal launch service."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from training import schedules
from training.jobs import job_kinds
from training.models import Job, JobSchedule

WEEKDAYS = dict(JobSchedule.Weekday.choices)


class JobScheduleForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=())

    class Meta:
        model = JobSchedule
        fields = (
            "name",
            "kind",
            "params",
            "promote_if_better",
            "frequency",
            "weekday",
            "at",
            "enabled",
        )
        help_texts = {
            "params": 'The job\'s parameters as JSON, e.g. {"k": 20}; defaults fill the rest '
            "(see Launch a job, or manage.py run_job --help).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (name, f"{kind.display_name} ({name})") for name, kind in job_kinds().items()
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        probe = JobSchedule(**{name: data.get(name) for name in self.Meta.fields})
        schedules.schedule_check(probe)  # a ValidationError by field lands on those fields
        data["params"] = probe.params
        return data


class LaunchedJobInline(admin.TabularInline):
    """The history: every job this schedule launched, its outcome and whether it promoted."""

    model = Job
    fk_name = "schedule"
    verbose_name = "launched job"
    verbose_name_plural = "launched jobs (history)"
    fields = (
        "job_link",
        "status",
        "created_at",
        "finished_at",
        "result_version",
        "activation",
        "activation_reason",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="job")
    def job_link(self, obj: Job):
        return format_html(
            '<a href="{}">#{} {}</a>',
            reverse("admin:training_job_change", args=[obj.pk]),
            obj.pk,
            obj.kind,
        )


@admin.register(JobSchedule)
class JobScheduleAdmin(admin.ModelAdmin):
    form = JobScheduleForm
    list_display = (
        "name",
        "kind",
        "when",
        "enabled",
        "promote_if_better",
        "next_run",
        "last_job_link",
        "last_message",
    )
    list_filter = ("kind", "frequency", "enabled", "promote_if_better")
    search_fields = ("name", "kind", "last_message")
    list_select_related = ("last_job", "created_by")
    readonly_fields = ("created_by", "created_at", "last_due_at", "last_job", "last_message")
    inlines = (LaunchedJobInline,)

    def get_fields(self, request, obj=None):
        fields = list(JobScheduleForm.Meta.fields)
        return fields + list(self.readonly_fields) if obj else fields

    def save_model(self, request, obj, form, change):
        schedules.schedule_save(schedule=obj, user=request.user)

    @admin.display(description="when")
    def when(self, obj: JobSchedule):
        at = obj.at.strftime("%H:%M")
        if obj.frequency == JobSchedule.Frequency.WEEKLY:
            return f"weekly, {WEEKDAYS.get(obj.weekday, '?')} {at}"
        return f"daily {at}"

    @admin.display(description="next run")
    def next_run(self, obj: JobSchedule):
        if not obj.enabled:
            return "— (disabled)"
        try:
            return f"{schedules.next_run(obj):%Y-%m-%d %H:%M %Z}"
        except ValueError as exc:
            return str(exc)

    @admin.display(description="last job")
    def last_job_link(self, obj: JobSchedule):
        job = obj.last_job
        if job is None:
            return "—"
        outcome = f"{job.status}" + (f", {job.activation}" if job.activation else "")
        return format_html(
            '<a href="{}">#{}</a> ({})',
            reverse("admin:training_job_change", args=[job.pk]),
            job.pk,
            outcome,
        )
