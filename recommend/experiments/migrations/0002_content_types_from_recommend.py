"""Rename the moved models' content types in place (``recommend`` → ``experiments``).

Permissions hang off the content type, so renaming it (instead of letting ``post_migrate``
create new ones) keeps every permission a user, a role group or a lab group holds, and the
admin's history entries. The other places that name a model by its app label move with it:
``AuditLog.object_type`` (``recommend.experiment`` → ``experiments.experiment``) and the
``app_label.codename`` grants stored on ``courses.Lab`` rows. Reversible.
"""

from django.conf import settings
from django.db import migrations

MODELS = ("experiment", "variant", "assignment", "exposure")
ACTIONS = ("add", "change", "delete", "view")


def _merge_permission(apps, *, stale, keep) -> None:
    """Hand the grants of ``stale`` (a permission about to be deleted) to ``keep``."""
    through_models = (
        apps.get_model(settings.AUTH_USER_MODEL).user_permissions.through,
        apps.get_model("auth", "Group").permissions.through,
    )
    for through in through_models:
        holder = next(f.name for f in through._meta.fields if f.name not in ("id", "permission"))
        has_keep = through.objects.filter(permission=keep).values_list(f"{holder}_id", flat=True)
        rows = through.objects.filter(permission=stale)
        rows.filter(**{f"{holder}_id__in": list(has_keep)}).delete()
        rows.update(permission=keep)


def _move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MODELS:
        source = ContentType.objects.filter(app_label=old, model=model).first()
        if source is None:
            continue  # a fresh database: post_migrate creates the content types afterwards
        target = ContentType.objects.filter(app_label=new, model=model).first()
        if target is not None:
            # Already created by a post_migrate that ran between the two state migrations (a
            # partial migrate): keep the source's rows (the ones users hold), merge, drop it.
            for stale in Permission.objects.filter(content_type=target):
                keep = Permission.objects.filter(content_type=source, codename=stale.codename).first()
                if keep is not None:
                    _merge_permission(apps, stale=stale, keep=keep)
                else:
                    stale.content_type = source
                    stale.save(update_fields=["content_type"])
            target.delete()
        source.app_label = new
        source.save(update_fields=["app_label"])
    ContentType.objects.clear_cache()

    AuditLog = apps.get_model("platform_core", "AuditLog")
    for model in MODELS:
        AuditLog.objects.filter(object_type=f"{old}.{model}").update(object_type=f"{new}.{model}")

    moved = {f"{old}.{action}_{model}": f"{new}.{action}_{model}" for action in ACTIONS for model in MODELS}
    Lab = apps.get_model("courses", "Lab")
    for lab in Lab.objects.filter(permissions__overlap=list(moved)):
        lab.permissions = [moved.get(name, name) for name in lab.permissions]
        lab.save(update_fields=["permissions"])


def forwards(apps, schema_editor):
    _move(apps, "recommend", "experiments")


def backwards(apps, schema_editor):
    _move(apps, "experiments", "recommend")


class Migration(migrations.Migration):

    dependencies = [
        ("experiments", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("platform_core", "0004_api_client_privacy_scope"),
        ("courses", "0002_attempt_reset_permission"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
