"""Permission roles as Django groups.

The groups are created by a data migration; their permissions are (re)synced after every
``migrate`` because other apps' permissions only exist once their models are migrated.
"""

from __future__ import annotations

ROLE_APP_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    # Operators run the catalog, the jobs and the experiments.
    "operator": {
        "catalog": ("add", "change", "delete", "view"),
        "knowledge": ("add", "change", "delete", "view"),
        "copywriting": ("add", "change", "delete", "view"),
        "images": ("add", "change", "delete", "view"),
        "training": ("add", "change", "delete", "view"),
        "recommend": ("add", "change", "delete", "view"),
        "experiments": ("add", "change", "delete", "view"),
        "promotions": ("add", "change", "delete", "view"),
        "analytics": ("view",),
        "insights": ("view",),
        "platform_core": ("view",),
        "courses": ("view",),
    },
    # Analysts read reports and results, change nothing.
    "analyst": {
        "catalog": ("view",),
        "knowledge": ("view",),
        "copywriting": ("view",),
        "images": ("view",),
        "training": ("view",),
        "recommend": ("view",),
        "experiments": ("view",),
        "promotions": ("view",),
        "analytics": ("view",),
        "insights": ("view",),
    },
    # Learners use the Academy portal only; labs grant them extra permissions per lab.
    "learner": {},
}
# Single permissions a role holds beyond its apps' actions above.
ROLE_EXTRA_PERMISSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # operators run the platform: retrying or discarding the buffers' dead letters is theirs
    "operator": (
        ("platform_core", "change_deadletter"),
        # alerts: thresholds, on/off, acknowledge and resolve (audited)
        ("platform_core", "change_alertrule"),
        ("platform_core", "change_alert"),
        # an import with "full sync" deactivates every product missing from the file: operators
        # own the catalog feed; analysts, learners and labs never get it (see courses.labs)
        ("catalog", "full_sync_product"),
    ),
    # analysts see which served rows were not stored (their reports would miss them)
    "analyst": (
        ("platform_core", "view_deadletter"),
        ("platform_core", "view_alert"),
        ("platform_core", "view_alertrule"),
    ),
}
# Models that are not the role's to manage even though their app is listed above.
ROLE_EXCLUDED_MODELS: dict[str, set[str]] = {
    "operator": {"platform_core.user", "platform_core.apiclient"},
}


def role_permission_codenames(role: str) -> list[tuple[str, str]]:
    """(app_label, codename) pairs a role should hold, from the current content types."""
    from django.contrib.auth.models import Permission

    wanted = []
    for app_label, actions in ROLE_APP_PERMISSIONS.get(role, {}).items():
        perms = Permission.objects.filter(content_type__app_label=app_label).select_related(
            "content_type"
        )
        for perm in perms:
            action = perm.codename.split("_", 1)[0]
            model_key = f"{app_label}.{perm.content_type.model}"
            if action in actions and model_key not in ROLE_EXCLUDED_MODELS.get(role, set()):
                wanted.append((app_label, perm.codename))
    return wanted + list(ROLE_EXTRA_PERMISSIONS.get(role, ()))


def sync_role_permissions(sender=None, **kwargs) -> None:
    """post_migrate: give each role group exactly its permissions (idempotent).

    post_migrate fires once per app, and auth creates an app's permissions in its own handler;
    create them for every app first so the last-migrated app's permissions are not missed.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))

    for role in ROLE_APP_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        pairs = role_permission_codenames(role)
        perms = [
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in pairs
        ]
        group.permissions.set(perms)
