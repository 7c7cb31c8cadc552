"""Deprecated name of the ``embedded`` command, kept for one release so scripts and habits that
still say ``manage.py services start|stop|status`` keep working. Remove in the next release."""

from platform_core.management.commands import embedded


class Command(embedded.Command):
    help = "Deprecated: use `manage.py embedded start|stop|status` (same behaviour)."

    def handle(self, *args, action, **options):
        self.stderr.write(
            f"`manage.py services` is deprecated and will be removed in the next release: "
            f"use `manage.py embedded {action}`."
        )
        super().handle(*args, action=action, **options)
