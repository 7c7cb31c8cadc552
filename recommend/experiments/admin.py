"""Admin for A/B experiments: a draft form with the sample-size calculator and variants inline,
start / stop / ship buttons and list actions (all calling ``recommend.experiments.services``),
and the results page (per-variant table with CIs, SRM, guardrails, cumulative-lift chart,
verdict). Registered by the admin autodiscovery of the ``experiments`` app."""

from __future__ import annotations

import math

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from platform_core.redirects import safe_next
from recommend.experiments import selectors, services
from recommend.experiments.logic.analysis import LOWER_IS_BETTER, METRIC_LABELS
from recommend.experiments.models import Experiment, ExperimentMetric, Variant, default_guardrails

STATUS_COLOURS = {"draft": "#777", "running": "#2a7ab0", "stopped": "#b8860b", "shipped": "#2e8b57"}
OUTCOME_COLOURS = {
    "winner": "#2e8b57",
    "loser": "#b03a2e",
    "guardrail breached": "#b03a2e",
    "not enough data": "#777",
    "no detectable difference": "#b8860b",
}
CALCULATOR_FIELDS = ("baseline_rate", "minimum_detectable_effect", "power", "alpha")


def sample_size_answer(baseline, mde, power=0.8, alpha=0.05) -> str:
    """The calculator's answer, as the live calculator and the form's "Minimum sample size" row
    both show it: one function (``selectors.sample_size_or_none``, which the services also save)."""
    n = selectors.sample_size_or_none(baseline, mde, power, alpha) if baseline is not None else None
    if n is None:
        return "enter a baseline rate in (0, 1) and a non-zero effect"
    return format_html("<strong>{}</strong> exposed units per variant", f"{n:,}")


def guardrail_words(names) -> str:
    """Guardrail metric names as words ("zero-result rate, mean latency")."""
    return ", ".join(METRIC_LABELS.get(name, name) for name in names or ()) or "none"


def _errors(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "Permission denied."


# --------------------------------------------------------------------------- forms


class ExperimentForm(forms.ModelForm):
    guardrails = forms.MultipleChoiceField(
        choices=ExperimentMetric.choices,
        initial=default_guardrails,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Metrics that must not get significantly worse (beyond the tolerance below).",
    )

    class Meta:
        model = Experiment
        fields = (
            "name",
            "surface",
            "hypothesis",
            "primary_metric",
            "guardrails",
            "guardrail_tolerance",
            "latency_tolerance",
            "holdout_percent",
            "baseline_rate",
            "minimum_detectable_effect",
            "power",
            "alpha",
            "sequential",
            "cuped_days",
        )
        widgets = {"hypothesis": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        include = ",".join(f"[name={name}]" for name in CALCULATOR_FIELDS)
        for name in CALCULATOR_FIELDS:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {
                        "hx-get": reverse_lazy("admin:experiments_experiment_sample_size"),
                        "hx-trigger": "input changed delay:300ms",
                        "hx-target": "#aisle-sample-size",
                        "hx-include": include,
                    }
                )


class VariantFormSet(forms.BaseInlineFormSet):
    """Shares plus the experiment's holdout sum to 100; one control; strategies of the surface."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        specs = [
            services.VariantSpec(
                key=d.get("key") or "",
                strategy=d.get("strategy"),
                share=d.get("share") or 0,
                is_control=bool(d.get("is_control")),
            )
            for d in kept
        ]
        try:
            services.experiment_validate(experiment=self.instance, variants=specs)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class StrategySelect(forms.Select):
    """A strategy list whose options carry their surface (``data-surface``) for the script that
    hides other surfaces' strategies while a new experiment's surface is chosen."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-surface"] = instance.surface
        return option


class VariantInline(admin.TabularInline):
    model = Variant
    formset = VariantFormSet
    fields = ("key", "strategy", "share", "is_control")
    extra = 0
    min_num = 2
    autocomplete_fields = ()

    def has_add_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        """The strategy list holds the experiment's surface's strategies only; a new experiment's
        list says each strategy's surface and narrows as the surface is chosen
        (aisle/experiment-variants.js; the formset's validation refuses any other)."""
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("strategy")
        if field is not None:
            if obj is not None and obj.surface:
                field.queryset = field.queryset.filter(surface=obj.surface)
            else:
                field.label_from_instance = lambda s: f"{s.name} ({s.get_surface_display()})"
        return formset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "strategy":
            from recommend.models import Strategy

            kwargs["queryset"] = Strategy.objects.order_by("surface", "name")
            kwargs["widget"] = StrategySelect
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --------------------------------------------------------------------------- admin


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = [VariantInline]
    list_display = (
        "name",
        "surface",
        "status_badge",
        "primary_metric",
        "variant_summary",
        "started_at",
        "winner_key",
        "results_link",
    )
    list_filter = ("status", "surface", "primary_metric")
    search_fields = ("name", "hypothesis")
    list_select_related = ("winner", "started_by")
    date_hierarchy = "created_at"
    actions = ["start_selected", "stop_selected"]
    change_form_template = "admin/experiments/experiment/change_form.html"
    readonly_fields = (
        "status",
        "sample_size",
        "salt",
        "winner",
        "conclusion",
        "created_by",
        "created_at",
        "started_by",
        "started_at",
        "stopped_by",
        "stopped_at",
        "shipped_by",
        "shipped_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "surface", "hypothesis", "status")}),
        (
            "Metrics",
            {
                "fields": (
                    "primary_metric",
                    "guardrails",
                    "guardrail_tolerance",
                    "latency_tolerance",
                )
            },
        ),
        (
            "Sample size (two-sided test per variant)",
            {
                "fields": (
                    "baseline_rate",
                    "minimum_detectable_effect",
                    "power",
                    "alpha",
                    "sample_size",
                ),
                "description": "The calculator asks how many exposed units (served lists, for the "
                "click-through rate) each variant needs to detect the minimum effect with this "
                "power at this significance level.",
            },
        ),
        (
            "Traffic and analysis",
            {
                "fields": (
                    "holdout_percent",
                    "sequential",
                    "cuped_days",
                )
            },
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    "salt",
                    "winner",
                    "conclusion",
                    "created_by",
                    "created_at",
                    "started_by",
                    "started_at",
                    "stopped_by",
                    "stopped_at",
                    "shipped_by",
                    "shipped_at",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("variants", queryset=Variant.objects.select_related("strategy"))
            )
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing has happened to a new experiment yet
            return [(name, opts) for name, opts in self.fieldsets if name != "Lifecycle"]
        if not obj.is_editable:  # read-only: guardrails in words, not their stored names
            return [
                (
                    name,
                    {
                        **opts,
                        "fields": tuple(
                            "guardrail_names" if f == "guardrails" else f for f in opts["fields"]
                        ),
                    },
                )
                for name, opts in self.fieldsets
            ]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            fields = [f for f in ExperimentForm.Meta.fields if f != "guardrails"]
            return fields + ["guardrail_names", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_delete_permission(request, obj)

    # -- columns ----------------------------------------------------------------------------

    @admin.display(description="Minimum sample size")
    def sample_size(self, obj: Experiment):
        """A draft's answer is the live calculator's, from the form's current values (the same
        function answers as the operator types, and the saved number is computed by it too);
        once started, the number fixed at the start."""
        if obj.pk and not obj.is_editable:
            return format_html(
                "<strong>{}</strong> exposed units per variant", f"{obj.min_sample_size:,}"
            )
        answer = sample_size_answer(
            obj.baseline_rate, obj.minimum_detectable_effect, obj.power, obj.alpha
        )
        return format_html('<span id="aisle-sample-size">{}</span>', answer)

    @admin.display(description="Guardrails")
    def guardrail_names(self, obj: Experiment):
        return guardrail_words(obj.guardrails)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Experiment):
        return format_html(
            '<strong class="aisle-c-{}">{}</strong>',  # colour classes: aisle/admin.css (CSP)
            STATUS_COLOURS.get(obj.status, "#333").lstrip("#"),
            obj.get_status_display(),
        )

    @admin.display(description="Variants")
    def variant_summary(self, obj: Experiment):
        parts = [
            (v.key + (" (control)" if v.is_control else ""), v.strategy.name, f"{v.share:g}%")
            for v in obj.variants.all()
        ]
        text = format_html_join(", ", "{} → {} {}", parts)
        if obj.holdout_percent:
            text = format_html("{}, holdout {}%", text, f"{obj.holdout_percent:g}")
        return text

    @admin.display(description="Winner")
    def winner_key(self, obj: Experiment):
        return obj.winner.key if obj.winner_id else "—"

    @admin.display(description="Results")
    def results_link(self, obj: Experiment):
        if obj.status == Experiment.Status.DRAFT:
            return "—"
        return format_html(
            '<a href="{}">results</a>',
            reverse("admin:experiments_experiment_results", args=[obj.pk]),
        )

    # -- saving -----------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if change and not obj.is_editable:
            return  # every field is read-only once started: nothing to save
        services.experiment_save_draft(
            experiment=obj, actor=request.user, created=not change, changed=form.changed_data
        )

    def delete_model(self, request, obj):
        services.experiment_delete(experiment=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            try:
                services.experiment_delete(experiment=obj, actor=request.user)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, _errors(exc), messages.WARNING)

    # -- urls and views ---------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "sample-size/",
                view(self.sample_size_view),
                name="experiments_experiment_sample_size",
            ),
            path("<int:pk>/start/", view(self.start_view), name="experiments_experiment_start"),
            path("<int:pk>/stop/", view(self.stop_view), name="experiments_experiment_stop"),
            path("<int:pk>/ship/", view(self.ship_view), name="experiments_experiment_ship"),
            path(
                "<int:pk>/results/", view(self.results_view), name="experiments_experiment_results"
            ),
        ] + super().get_urls()

    def _lifecycle(self, request, pk: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        experiment = get_object_or_404(Experiment, pk=pk)
        if not self.has_change_permission(request, None):
            raise PermissionDenied
        self._run(request, experiment, action)
        return redirect(
            safe_next(request, reverse("admin:experiments_experiment_change", args=[pk]))
        )

    def _run(self, request, experiment: Experiment, action: str) -> bool:
        service = {"start": services.experiment_start, "stop": services.experiment_stop}[action]
        try:
            service(experiment=experiment, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, _errors(exc), messages.ERROR)
            return False
        done = {
            "start": f"“{experiment}” is running: its variants now serve the {experiment.surface} surface.",
            "stop": f"“{experiment}” stopped: the {experiment.surface} surface serves its default strategy again.",
        }
        self.message_user(request, done[action], messages.SUCCESS)
        return True

    def start_view(self, request, pk: int):
        return self._lifecycle(request, pk, "start")

    def stop_view(self, request, pk: int):
        return self._lifecycle(request, pk, "stop")

    @admin.action(description="Start the selected experiments", permissions=["change"])
    def start_selected(self, request, queryset):
        for experiment in queryset:
            self._run(request, experiment, "start")

    @admin.action(description="Stop the selected experiments", permissions=["change"])
    def stop_selected(self, request, queryset):
        for experiment in queryset:
            self._run(request, experiment, "stop")

    def sample_size_view(self, request):
        """The calculator's live answer (htmx fragment)."""
        values = [request.GET.get(name) for name in CALCULATOR_FIELDS]
        try:
            baseline, mde, power, alpha = (
                float(v) if v not in (None, "") else d
                for v, d in zip(values, (None, None, 0.8, 0.05), strict=True)
            )
        except ValueError:
            baseline = None
        return HttpResponse(sample_size_answer(baseline, mde, power, alpha))

    def ship_view(self, request, pk: int):
        experiment = get_object_or_404(
            Experiment.objects.prefetch_related("variants__strategy"), pk=pk
        )
        if not self.has_change_permission(request, experiment):
            raise PermissionDenied
        if request.method == "POST":
            variant = experiment.variants.filter(pk=request.POST.get("variant") or 0).first()
            if variant is None:
                self.message_user(request, "Choose the variant to ship.", messages.ERROR)
                return redirect("admin:experiments_experiment_ship", pk)
            try:
                services.experiment_ship(experiment=experiment, actor=request.user, variant=variant)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, _errors(exc), messages.ERROR)
                return redirect("admin:experiments_experiment_ship", pk)
            self.message_user(
                request,
                f"Shipped “{variant.key}”: strategy “{variant.strategy.name}” is now the "
                f"default of the {experiment.surface} surface.",
                messages.SUCCESS,
            )
            return redirect("admin:experiments_experiment_results", pk)
        results = selectors.experiment_results(experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "experiment": experiment,
            "results": results,
            "title": f"Ship “{experiment}”",
            "variants": list(experiment.variants.all()),
            "recommended_id": results.recommended_variant_id,
            "can_ship": experiment.status in (Experiment.Status.RUNNING, Experiment.Status.STOPPED),
        }
        return TemplateResponse(request, "admin/experiments/experiment/ship.html", context)

    def results_view(self, request, pk: int):
        experiment = get_object_or_404(Experiment.objects.select_related("winner"), pk=pk)
        if not self.has_view_or_change_permission(request, experiment):
            raise PermissionDenied
        segments = selectors.experiment_segments(experiment)
        segment = request.GET.get("segment", "")
        segment = segment if segment in segments else ""
        results = selectors.experiment_results(experiment, segment=segment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "experiment": experiment,
            "results": results,
            "segments": segments,
            "segment": segment,
            "title": f"Results of “{experiment}”" + (f" — segment “{segment}”" if segment else ""),
            "table": _results_table(results),
            "primary_rows": _primary_rows(results),
            "guardrail_rows": _guardrail_rows(results),
            "chart": mark_safe(results.chart_svg),  # numbers and escaped names only
            "outcome_colour": OUTCOME_COLOURS.get(
                results.analysis.outcome if results.analysis else "", "#777"
            ),
            "is_operator": request.user.has_role("operator"),
            "progress": _progress(results),
            "guardrail_names": guardrail_words(experiment.guardrails),
        }
        return TemplateResponse(request, "admin/experiments/experiment/results.html", context)


# --------------------------------------------------------------------------- results formatting


def _fmt(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if metric == "revenue_per_shopper":
        return f"{value:,.2f}"
    if metric in ("latency", "p95"):
        return f"{value:,.1f} ms"
    return f"{value * 100:.2f}%"


def _pct(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value * 100:+.1f}%"


def _p(value: float) -> str:
    return "p < 1e-15" if value < 1e-15 else f"p = {value:.2g}"


def _lift_cell(metric: str, cmp) -> dict | None:
    if cmp is None or not math.isfinite(cmp.rel_lift):
        return None
    good = (cmp.abs_diff > 0) != (metric in LOWER_IS_BETTER)
    colour = ("#2e8b57" if good else "#b03a2e") if cmp.significant else "#555"
    return {
        "lift": _pct(cmp.rel_lift),
        "ci": f"[{_pct(cmp.ci_low)}, {_pct(cmp.ci_high)}]",
        "p": _p(cmp.p_value),
        "colour": colour,
        "significant": cmp.significant,
    }


def _results_table(results) -> dict:
    if results.analysis is None:
        return {"metrics": [], "rows": []}
    metrics = [
        "ctr",
        "add_to_cart_rate",
        "conversion_rate",
        "revenue_per_shopper",
        "zero_result_rate",
    ]
    header = [METRIC_LABELS[m] for m in metrics] + ["p95 latency"]
    rows = []
    for arm in results.analysis.arms:
        cells = [
            {
                "value": _fmt(m, arm.values.get(m)),
                "lift": None if arm.is_control else _lift_cell(m, arm.comparisons.get(m)),
                "primary": m == results.analysis.primary_metric,
            }
            for m in metrics
        ]
        latency_lift = (
            None if arm.is_control else _lift_cell("latency", arm.comparisons.get("latency"))
        )
        cells.append(
            {
                "value": _fmt("p95", arm.p95_latency_ms),
                "lift": latency_lift,
                "primary": False,
                "note": f"mean {_fmt('latency', arm.values.get('latency'))}",
            }
        )
        rows.append({"arm": arm, "cells": cells})
    return {"metrics": header, "rows": rows}


def _primary_rows(results) -> list[dict]:
    if results.analysis is None:
        return []
    out = []
    for t in results.analysis.treatments:
        row = {
            "key": t.key,
            "verdict": t.verdict,
            "colour": OUTCOME_COLOURS.get(t.verdict.outcome, "#777"),
            "fixed": _lift_cell(results.analysis.primary_metric, t.primary),
            "cuped": None,
            "sequential": None,
        }
        if t.cuped is not None:
            row["cuped"] = {
                **(_lift_cell(results.analysis.primary_metric, t.cuped) or {}),
                "reduction": f"{(t.variance_reduction or 0) * 100:.1f}%",
            }
        if t.sequential is not None:
            lo, hi = t.sequential_lift_ci or (math.nan, math.nan)
            row["sequential"] = {
                "p": _p(t.sequential.p_value),
                "ci": f"[{_pct(lo)}, {_pct(hi)}]",
                "significant": t.sequential.significant,
            }
        out.append(row)
    return out


def _guardrail_rows(results) -> list[dict]:
    if results.analysis is None:
        return []
    rows = []
    for t in results.analysis.treatments:
        for g in t.guardrails:
            c = g.comparison
            rows.append(
                {
                    "variant": t.key,
                    "name": g.name,
                    "breached": g.breached,
                    "lift": _pct(c.rel_lift),
                    "ci": f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}]",
                    "p": _p(c.p_value),
                    "direction": "higher is better" if g.higher_is_better else "lower is better",
                }
            )
    return rows


def _progress(results) -> dict | None:
    analysis = results.analysis
    required = results.experiment.min_sample_size
    if analysis is None or not required:
        return None
    # a per-exposure rate (CTR) is tested on served lists, the other metrics on exposed units
    per_exposure = analysis.primary_metric == "ctr"
    smallest = min(a.exposures if per_exposure else a.units for a in analysis.arms)
    return {
        "smallest": smallest,
        "required": required,
        "fraction": min(1.0, smallest / required),
        "unit": "served lists" if per_exposure else "units",
        "percent": f"{min(1.0, smallest / required) * 100:.0f}%",
    }
