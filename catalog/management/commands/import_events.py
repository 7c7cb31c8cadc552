"""``manage.py import_events PATH [--skip-invalid] [--format csv|jsonl]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.formats.contract import FORMATS
from catalog.management.reporting import ProgressBar, write_report
from catalog.services.imports import catalog_import_file


class Command(BaseCommand):
    help = (
        "Import shopper events from CSV or JSON Lines. Idempotent by event_id (a stable hash stands in "
        "when the file has none); unknown shoppers are created, unknown products rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", dest="fmt", choices=FORMATS)
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows, report the others."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(
        self, *args, path: Path, fmt: str | None, skip_invalid: bool, no_progress: bool, **options
    ):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        bar = ProgressBar("import events", enabled=not no_progress)
        try:
            report = catalog_import_file(
                kind="events",
                source=path,
                fmt=fmt,
                filename=str(path),
                skip_invalid=skip_invalid,
                progress=bar,
            )
        finally:
            bar.close()
        write_report(self, report)
        if not report.ok:
            raise CommandError(
                f"events import stopped: {report.fatal or f'{len(report.errors)} errors'}.",
                returncode=1,
            )
