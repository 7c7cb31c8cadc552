"""Lift a login lockout (django-axes) before its cool-off ends, and record who did it."""

from axes.utils import reset
from django.core.management.base import BaseCommand, CommandError

from platform_core.services import audit_record


class Command(BaseCommand):
    help = (
        "Unlock sign-in for a username (its failed attempts are forgotten), and/or for a client "
        "address with --ip. Records the unlock in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="", help="The locked-out username.")
        parser.add_argument(
            "--ip",
            default="",
            help="Also unlock this client address (every username tried from it).",
        )

    def handle(self, *args, username: str, ip: str, **options):
        if not username and not ip:
            raise CommandError("Name a username, or a client address with --ip.")
        removed = 0
        if username:
            removed += reset(username=username)
        if ip:
            removed += reset(ip=ip)
        audit_record(
            actor=None,
            action="login.unlock",
            object_type="login",
            object_repr=", ".join(filter(None, [username, ip])),
            details={"username": username, "ip": ip, "attempt_records_removed": removed},
        )
        who = " and ".join(
            filter(None, [username and f"user {username!r}", ip and f"address {ip}"])
        )
        if removed:
            self.stdout.write(
                self.style.SUCCESS(f"Unlocked {who}: {removed} attempt record(s) removed.")
            )
        else:
            self.stdout.write(f"Nothing to unlock for {who}: no failed attempts recorded.")
