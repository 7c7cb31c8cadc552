"""``manage.py shopper_forget EXTERNAL_ID [--mode delete|anonymise]``."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Shopper
from catalog.services.privacy import shopper_forget


class Command(BaseCommand):
    help = (
        "Forget a shopper: delete their personal data and events (SHOPPER_FORGET_MODE=delete) or keep "
        "their events under an anonymous shopper (anonymise). One transaction, audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_id")
        parser.add_argument(
            "--mode",
            choices=("delete", "anonymise"),
            help=f"Default: SHOPPER_FORGET_MODE ({settings.SHOPPER_FORGET_MODE}).",
        )

    def handle(self, *args, external_id: str, mode: str | None, **options):
        try:
            counts = shopper_forget(external_id=external_id, mode=mode)
        except Shopper.DoesNotExist:
            raise CommandError(f"No shopper with external id {external_id!r}.") from None
        mode = mode or settings.SHOPPER_FORGET_MODE
        detail = ", ".join(f"{v} {k}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Forgot shopper {external_id} ({mode}): {detail}."))
