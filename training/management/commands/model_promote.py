"""``manage.py model_promote VERSION_ID --user USERNAME``."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from training import services
from training.models import ModelVersion


class Command(BaseCommand):
    help = "Make a model version the active one of its task (audited as USERNAME)."

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int)
        parser.add_argument(
            "--user", required=True, help="the acting user (recorded in the audit log)"
        )

    def handle(self, *args, version_id, user, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user named {user!r}.")
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise CommandError(f"No model version #{version_id}.")
        try:
            version = services.model_promote(version=version, user=actor)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{version.task} version #{version.pk} ({version.name}) is now active."
            )
        )
