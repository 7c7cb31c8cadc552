"""``manage.py shopper_export EXTERNAL_ID [--output FILE]``: everything held about a shopper, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Shopper
from catalog.services.privacy import shopper_export


class Command(BaseCommand):
    help = "Write everything held about a shopper (profile, events, searches, other apps' sections) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("external_id")
        parser.add_argument("--output", type=Path, help="Default: standard output.")

    def handle(self, *args, external_id: str, output: Path | None, **options):
        try:
            data = shopper_export(external_id=external_id)
        except Shopper.DoesNotExist:
            raise CommandError(f"No shopper with external id {external_id!r}.") from None
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        if output:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text + "\n", encoding="utf-8")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {output}: {len(data['events'])} events, {len(data['searches'])} searches."
                )
            )
        else:
            self.stdout.write(text)
