"""Training → Data-value reports: what each training data source of a model task is worth (the
ablation chart with intervals), what more data would add (the learning curve), the summary
generated from those figures, and a CSV of both. Reports come from ``data_value`` jobs: never
added or edited by hand."""

from __future__ import annotations

import csv
import io

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from training.data_value_charts import ablation_chart_svg, learning_curve_svg
from training.models import DataValueReport

CSV_COLUMNS = (
    "section",
    "source",
    "title",
    "kind",
    "rows",
    "change",
    "low",
    "high",
    "metric_without",
    "verdict",
    "skipped",
    "size",
    "fraction",
    "metric",
)


def report_csv(report: DataValueReport) -> str:
    """The ablation rows, then the learning curve's points and its projection, one CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report.ablation:
        writer.writerow({"section": "ablation", **row})
    curve = report.curve or {}
    for point in curve.get("points", []):
        writer.writerow({"section": "curve", **point})
    if curve:
        low, high = curve["doubling_interval"]
        writer.writerow(
            {
                "section": "doubling",
                "size": curve["doubling_size"],
                "change": curve["doubling_gain"],
                "low": low,
                "high": high,
            }
        )
    return out.getvalue()


def launch_url() -> str:
    """The job launch form with the data_value kind chosen."""
    return reverse("admin:training_job_launch") + "?kind=data_value"


@admin.register(DataValueReport)
class DataValueReportAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "task",
        "created_at",
        "key_figure",
        "top_source",
        "doubling",
        "version_link",
        "job_link",
        "duration",
    )
    list_filter = ("task", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=job__id", "=version__id", "version__name")
    list_select_related = ("version", "job")
    date_hierarchy = "created_at"
    change_list_template = "admin/training/datavaluereport/change_list.html"

    @admin.display(description="with every source")
    def key_figure(self, report: DataValueReport) -> str:
        return f"{report.metric} {report.baseline:.3f} ({report.held_out_units} {report.unit})"

    @admin.display(description="most valuable source")
    def top_source(self, report: DataValueReport) -> str:
        measured = [r for r in report.ablation if not r.get("skipped")]
        if not measured:
            return "—"
        top = max(measured, key=lambda r: r["change"])
        return f"{top['title']} ({top['change']:+.3f}, {top['verdict']})"

    @admin.display(description="doubling the data")
    def doubling(self, report: DataValueReport) -> str:
        if not report.curve:
            return "—"
        return f"{report.curve['doubling_gain']:+.3f}"

    @admin.display(description="version")
    def version_link(self, report: DataValueReport) -> str:
        if not report.version_id:
            return "—"
        url = reverse("admin:training_modelversion_change", args=[report.version_id])
        return format_html('<a href="{}">#{} {}</a>', url, report.version_id, report.version.name)

    @admin.display(description="job")
    def job_link(self, report: DataValueReport) -> str:
        if not report.job_id:
            return "—"
        url = reverse("admin:training_job_change", args=[report.job_id])
        return format_html('<a href="{}">#{}</a>', url, report.job_id)

    @admin.display(description="seconds", ordering="duration_seconds")
    def duration(self, report: DataValueReport) -> str:
        return f"{report.duration_seconds:.0f}"

    def has_add_permission(self, request):
        return False  # a report is made by a data_value job

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/csv/",
                self.admin_site.admin_view(self.csv_view),
                name="training_datavaluereport_csv",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "launch_url": launch_url()}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        if report is None or not self.has_view_permission(request, report):
            return super().change_view(request, object_id, form_url, extra_context)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(report),
            "report": report,
            "ablation_chart": ablation_chart_svg(report.ablation, report.metric),
            "curve_chart": learning_curve_svg(report.curve, report.metric),
            "rows": sorted(
                report.ablation, key=lambda r: (bool(r.get("skipped")), -r.get("change", 0))
            ),
            "csv_url": reverse("admin:training_datavaluereport_csv", args=[report.pk]),
            "launch_url": launch_url(),
        }
        return TemplateResponse(request, "admin/training/datavaluereport/report.html", context)

    def csv_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = get_object_or_404(DataValueReport, pk=pk)
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="data-value-{report.task}-{report.pk}.csv"'
        )
        return response


def report_links(reports) -> str:
    """Links to data-value reports (the version and job pages), newest first, or "—"."""
    from django.utils.html import format_html_join

    rows = [
        (
            reverse("admin:training_datavaluereport_change", args=[r.pk]),
            f"#{r.pk} {r.created_at:%Y-%m-%d %H:%M}",
            f"{r.metric} {r.baseline:.3f}",
        )
        for r in reports
    ]
    if not rows:
        return "—"
    return format_html_join(", ", '<a href="{}">{}</a> ({})', rows)
