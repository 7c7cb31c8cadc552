"""First-run set-up after ``migrate``: admin user, then each app's ``bootstrap.run``."""

from __future__ import annotations

import importlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

# Order matters: the demo store before embedding it, models before strategies, courses last.
BOOTSTRAP_APPS = ("catalog", "training", "recommend", "courses")


class Command(BaseCommand):
    help = "Create the first admin user and load demo data / curriculum / base models when missing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip", action="append", default=[], help="App whose bootstrap to skip; repeatable."
        )

    def handle(self, *args, skip, **options):
        self._admin_user()
        for app in BOOTSTRAP_APPS:
            if app in skip:
                continue
            try:
                module = importlib.import_module(f"{app}.bootstrap")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.bootstrap":
                    raise
                continue
            module.run(stdout=self.stdout, style=self.style)

    def _admin_user(self) -> None:
        User = get_user_model()
        creds = settings.DATA_DIR / "admin-credentials.txt"
        if User.objects.filter(is_superuser=True).exists():
            if creds.exists():
                self.stdout.write(f"Admin credentials: see {creds}")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@aisle.local", password)
        creds.parent.mkdir(parents=True, exist_ok=True)
        creds.write_text(f"username: admin\npassword: {password}\n")
        creds.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Created admin user — username: admin  password: {password}")
        )
        self.stdout.write(f"(also saved in {creds})")
