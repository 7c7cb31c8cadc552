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


def _last_app_signalled():
    """The app whose post_migrate signal comes last in a migrate or a flush (Django sends it
    for every app with a models module, in registry order)."""
    from django.apps import apps

    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    return configs[-1] if configs else None


def sync_role_permissions(sender=None, **kwargs) -> None:
    """post_migrate: give each role group exactly its permissions (idempotent).

    post_migrate fires once per app, and auth creates an app's permissions in its own handler;
    create them for every app first so the last-migrated app's permissions are not missed. As a
    handler it syncs once a round, on the last app's signal (every app's permissions exist by
    then): on each of the 22 apps' signals it made a migrate — and every transactional test's
    flush — run some 8,000 queries (about 30 s on a loaded 2-core machine). Called directly
    (no ``sender``) it always syncs.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    if sender is not None and sender is not _last_app_signalled():
        return
    using = kwargs.get("using", "default")
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)

    by_key = {
        (app, code): pk
        for pk, app, code in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role in ROLE_APP_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        pairs = role_permission_codenames(role)
        missing = [f"{app}.{code}" for app, code in pairs if (app, code) not in by_key]
        if missing:
            raise Permission.DoesNotExist(f"role {role}: no permission {', '.join(missing)}")
        group.permissions.set([by_key[pair] for pair in pairs])
