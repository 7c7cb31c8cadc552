"""``manage.py create_staff_user NAME --role learner|analyst|operator``: a staff member in a role,
with the password read from an environment variable or asked twice at a terminal (never echoed,
never printed, never taken on the command line where the process list would show it)."""

from __future__ import annotations

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from platform_core import services
from platform_core.roles import ROLE_APP_PERMISSIONS


class Command(BaseCommand):
    help = (
        "Create a staff user in a role: operator (catalog, jobs, experiments), analyst "
        "(read-only) or learner (the Academy only). The password comes from "
        "--password-from-env VAR or is asked at the terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLE_APP_PERMISSIONS))
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="read the password from this environment variable (for scripts)",
        )

    def _password(self, variable: str | None) -> str:
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"The environment variable {variable} is not set or empty.")
            return password
        if not sys.stdin.isatty():
            raise CommandError(
                "No terminal to ask for the password: pass --password-from-env VAR "
                "with the password in that environment variable."
            )
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ; nothing was created.")
        return password

    def handle(self, *args, username, role, email, password_from_env, **options):
        password = self._password(password_from_env)
        try:
            user = services.staff_user_create(
                username=username, role=role, password=password, email=email
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        where = "the admin" if user.is_staff else "the Academy"
        self.stdout.write(f"Created {role} {user.username!r}: they can sign in to {where}.")
