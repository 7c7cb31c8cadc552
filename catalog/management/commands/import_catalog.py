"""``manage.py import_catalog PATH [--kind products|categories|shoppers] [--full-sync] [--skip-invalid]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.formats.contract import FORMATS
from catalog.management.reporting import ProgressBar, write_report
from catalog.services.imports import catalog_import_file


class Command(BaseCommand):
    help = (
        "Import products (default), categories or shoppers from CSV or JSON Lines; upsert by external_id. "
        "A file with invalid rows imports nothing unless --skip-invalid. Exits 1 when errors stopped it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--kind", choices=("products", "categories", "shoppers"), default="products"
        )
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=FORMATS,
            help="Default: from the file extension (.csv, .jsonl).",
        )
        parser.add_argument(
            "--full-sync",
            action="store_true",
            help="Products only: deactivate active products absent from the file.",
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows, report the others."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(
        self,
        *args,
        path: Path,
        kind: str,
        fmt: str | None,
        full_sync: bool,
        skip_invalid: bool,
        no_progress: bool,
        **options,
    ):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if full_sync and kind != "products":
            raise CommandError("--full-sync applies to products only.")
        bar = ProgressBar(f"import {kind}", enabled=not no_progress)
        try:
            report = catalog_import_file(
                kind=kind,
                source=path,
                fmt=fmt,
                filename=str(path),
                skip_invalid=skip_invalid,
                full_sync=full_sync,
                progress=bar,
            )
        finally:
            bar.close()
        write_report(self, report)
        if not report.ok:
            raise CommandError(
                f"{kind} import stopped: {report.fatal or f'{len(report.errors)} errors'}.",
                returncode=1,
            )
