"""The "Launch a job" page's parts, all read from the job-kind registry (``training.kinds``):
one card per kind (its name for people, what it does, how long it should take here) and a form
with one field per parameter (its label, help in words, versions picked from a list)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from training import estimates
from training.jobs import JobKind, Param, job_kinds
from training.models import ModelVersion, Task

VERSION_CHOICES_LIMIT = 200


@dataclass(frozen=True)
class KindCard:
    kind: JobKind
    estimate: estimates.Estimate


def kind_cards() -> list[KindCard]:
    """Every registered kind with its estimate (rows counted once per row kind)."""
    rows: dict[str, int | None] = {}
    cards = []
    for kind in sorted(job_kinds().values(), key=lambda k: k.display_name):
        if kind.scales_with not in rows:
            rows[kind.scales_with] = estimates.row_count(kind.scales_with)
        cards.append(KindCard(kind, estimates.kind_estimate(kind, rows_now=rows[kind.scales_with])))
    return cards


def _version_label(version: ModelVersion, *, with_task: bool) -> str:
    label = f"#{version.pk} {version.name}"
    if with_task:
        label = f"{label} ({version.task})"
    return f"{label} — active" if version.is_active else label


def version_choices(param: Param) -> list:
    """The existing ready versions a version parameter may name (grouped by task for "any")."""
    versions = ModelVersion.objects.filter(status=ModelVersion.Status.READY).only(
        "pk", "name", "task", "is_active"
    )
    if param.version_of != "any":
        versions = versions.filter(task=param.version_of)
    versions = list(versions.order_by("task", "-is_active", "-created_at")[:VERSION_CHOICES_LIMIT])
    empty = ("", "— choose a version —") if param.required else ("", "the active version")
    if param.version_of != "any":
        return [empty] + [(v.pk, _version_label(v, with_task=False)) for v in versions]
    groups = []
    for task, task_label in Task.choices:
        mine = [(v.pk, _version_label(v, with_task=False)) for v in versions if v.task == task]
        if mine:
            groups.append((task_label.capitalize(), mine))
    return [empty] + groups


def _field(param: Param) -> forms.Field:
    required = param.required
    initial = None if required else param.default
    common = {"label": param.title, "help_text": param.explain(), "required": required}
    if param.version_of:
        return forms.TypedChoiceField(
            choices=version_choices(param), coerce=int, empty_value=None, **common
        )
    if param.type is bool:
        return forms.BooleanField(**{**common, "required": False}, initial=initial)
    if param.choices:
        choices = ([] if required else [("", f"default ({param.default})")]) + [
            (c, c) for c in param.choices
        ]
        return forms.ChoiceField(choices=choices, initial="" if not required else None, **common)
    bounds = {"min_value": param.min, "max_value": param.max}
    if param.type is int:
        return forms.IntegerField(initial=initial, **bounds, **common)
    if param.type is float:
        return forms.FloatField(initial=initial, **bounds, **common)
    return forms.CharField(initial=initial, widget=forms.TextInput(attrs={"size": 60}), **common)


def launch_form_class(kind: JobKind) -> type[forms.Form]:
    """A form with one field per parameter of ``kind`` (types, defaults, labels and help from
    the registry; a version parameter is a list of the existing versions of its task)."""
    fields: dict[str, forms.Field] = {"kind": forms.CharField(widget=forms.HiddenInput)}
    for param in kind.params:
        fields[param.name] = _field(param)
    return type(f"Launch_{kind.name}", (forms.Form,), fields)
