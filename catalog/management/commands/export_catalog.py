"""``manage.py export_catalog DIR [--format csv|jsonl]``: the four kinds, in the import formats."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.formats.contract import FORMATS
from catalog.management.reporting import ProgressBar
from catalog.services.export import catalog_export


class Command(BaseCommand):
    help = (
        "Write categories, products, shoppers and events to DIR as CSV (or JSON Lines); "
        "import_catalog / import_events read them back to the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="csv")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, directory: Path, fmt: str, no_progress: bool, **options):
        bar = ProgressBar("export", enabled=not no_progress)
        try:
            written = catalog_export(directory=directory, fmt=fmt, progress=bar)
        finally:
            bar.close()
        for kind, (path, count) in written.items():
            self.stdout.write(f"{kind:<11} {count:>9} rows  {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported. Import order: categories, products, shoppers, events, e.g.\n"
                f"  manage.py import_catalog {written['categories'][0]} --kind categories\n"
                f"  manage.py import_catalog {written['products'][0]}\n"
                f"  manage.py import_catalog {written['shoppers'][0]} --kind shoppers\n"
                f"  manage.py import_events {written['events'][0]}"
            )
        )
