"""The admin's app list grouped by workflow, not alphabetically.

An operator's day runs Catalog → Training → Serving → Experiments → Insights → Academy →
Platform; the admin home and the sidebar list the models in that order. One table decides where
each model goes: ``MODEL_GROUPS`` for a model that belongs elsewhere than its app (the events and
search logs are read as insights), then ``APP_GROUPS`` by app label; anything else — an app
installed later, a third-party app — lands in Platform, so no model ever falls out of the list.
Within a group, models come in the order the tables name them, then alphabetically.

Plain Python (no Django): the site turns Django's per-app dictionaries into these groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """One section of the admin home: its title, a sentence on what it is for, and its slug."""

    slug: str
    name: str
    description: str


GROUPS: tuple[Group, ...] = (
    Group("catalog", "Catalog", "Products, categories, brands, shoppers and imports."),
    Group("training", "Training", "Model versions, jobs, schedules and labelled queries."),
    Group("serving", "Serving", "Strategies, synonyms, pinned results and boost rules."),
    Group("experiments", "Experiments", "A/B tests of serving strategies and promotion campaigns."),
    Group("insights", "Insights", "What shoppers searched for and did."),
    Group("academy", "Academy", "Courses, labs and learners' progress."),
    Group("platform", "Platform", "Staff, API clients, audit, security and dead letters."),
)
FALLBACK = "platform"
GROUP_BY_SLUG = {g.slug: g for g in GROUPS}

# app_label → group, and the order of that app's models inside it
APP_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "catalog": (
        "catalog",
        ("product", "category", "brand", "importrun", "dataqualityreport", "shopper"),
    ),
    "knowledge": (
        "catalog",
        ("article", "productquestion", "passage", "supportlabel", "answersummary"),
    ),
    "copywriting": ("catalog", ("copydraft", "bannedword")),
    "images": ("catalog", ("productimage",)),
    "training": (
        "training",
        (
            "modelversion",
            "job",
            "jobschedule",
            "datavaluereport",
            "querylabel",
            "querytolabel",
            "jobnotice",
        ),
    ),
    "recommend": (
        "serving",
        ("strategy", "intentbehaviour", "synonymset", "pinnedresult", "boostrule"),
    ),
    "analytics": ("insights", ("servedrequest",)),
    "insights": ("insights", ()),
    "experiments": ("experiments", ("experiment",)),
    "promotions": ("experiments", ("campaign",)),
    "courses": (
        "academy",
        (
            "course",
            "learningpath",
            "module",
            "lesson",
            "quiz",
            "lab",
            "enrollment",
            "attempt",
            "quizgrant",
        ),
    ),
    "platform_core": (
        "platform",
        ("alert", "alertrule", "user", "apiclient", "auditlog", "deadletter"),
    ),
    "auth": ("platform", ("group",)),
    "authtoken": ("platform", ()),
    "axes": ("platform", ()),
    "otp_totp": ("platform", ()),
    "otp_static": ("platform", ()),
}
# app_label.model_name → group, for models read in another workflow than their app's
MODEL_GROUPS: dict[str, str] = {
    "catalog.event": "insights",
    "catalog.searchlog": "insights",
}


def group_of(app_label: str, model_name: str) -> Group:
    """The workflow group of a model (Platform for anything the tables do not name)."""
    slug = MODEL_GROUPS.get(f"{app_label}.{model_name}")
    if slug is None:
        slug = APP_GROUPS.get(app_label, (FALLBACK, ()))[0]
    return GROUP_BY_SLUG.get(slug, GROUP_BY_SLUG[FALLBACK])


def _model_rank(app_label: str, model_name: str, name: str) -> tuple:
    apps_in_order = list(APP_GROUPS)
    app_rank = apps_in_order.index(app_label) if app_label in APP_GROUPS else len(apps_in_order)
    order = APP_GROUPS.get(app_label, ("", ()))[1]
    model_rank = order.index(model_name) if model_name in order else len(order)
    # named models first (app by app, in their order), then the rest alphabetically
    return (model_rank == len(order), app_rank, model_rank, name.lower())


def grouped(
    apps: Iterable[dict], *, index_url: str, pages: Iterable[tuple[str, dict]] = ()
) -> list[dict]:
    """Django's per-app dictionaries (``AdminSite._build_app_dict``) regrouped by workflow.

    ``pages``: ``(group slug, row)`` for pages that belong to no model (the search analytics
    pages); they come first in their group, in the order given.

    Each group is shaped like an app entry, so Django's ``app_list.html`` and sidebar render it:
    ``name``, ``app_label`` (the group's slug), ``app_url`` (its section on the home page) and
    ``models``. Empty groups are left out.
    """
    members: dict[str, list[dict]] = {g.slug: [] for g in GROUPS}
    for app in apps:
        label = app["app_label"]
        for model in app["models"]:
            model_name = model["object_name"].lower()
            members[group_of(label, model_name).slug].append(
                {**model, "app_label": label, "model_name": model_name}
            )
    page_rows: dict[str, list[dict]] = {g.slug: [] for g in GROUPS}
    for slug, row in pages:
        slug = slug if slug in GROUP_BY_SLUG else FALLBACK
        page_rows[slug].append({"app_label": slug, "model_name": row["object_name"], **row})
    out = []
    for group in GROUPS:
        models = page_rows[group.slug] + sorted(
            members[group.slug],
            key=lambda m: _model_rank(m["app_label"], m["model_name"], str(m["name"])),
        )
        if models:
            out.append(
                {
                    "name": group.name,
                    "app_label": group.slug,
                    "app_url": f"{index_url}#{anchor(group.slug)}",
                    "anchor": anchor(group.slug),
                    "description": group.description,
                    "has_module_perms": True,
                    "models": models,
                }
            )
    return out


def anchor(slug: str) -> str:
    """The id of a group's section on the admin home."""
    return "workflow-" + re.sub(r"[^a-z0-9-]", "-", slug.lower())
