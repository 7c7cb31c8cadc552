"""``manage.py model_rollback TASK --user USERNAME``."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from training import services
from training.models import Task


class Command(BaseCommand):
    help = "Re-activate the version that the active version of TASK replaced (audited as USERNAME)."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=Task.values)
        parser.add_argument(
            "--user", required=True, help="the acting user (recorded in the audit log)"
        )

    def handle(self, *args, task, user, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user named {user!r}.")
        try:
            version = services.model_rollback(task=task, user=actor)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Rolled back: {task} version #{version.pk} ({version.name}) is active again."
            )
        )
