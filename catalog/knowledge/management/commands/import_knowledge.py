"""``manage.py import_knowledge PATH [--kind articles|product_qa] [--format …] [--skip-invalid]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.knowledge.records import FORMATS, KINDS
from catalog.knowledge.services import knowledge_import_file
from catalog.management.reporting import write_report


class Command(BaseCommand):
    help = (
        "Import help-centre articles (CSV, JSON Lines or Markdown) or product Q&A (CSV, JSON "
        "Lines) into the knowledge base; upsert by external_id and cut what changed into "
        "passages. A file with invalid rows imports nothing unless --skip-invalid. Exits 1 when "
        "errors stopped it. Then `run_job embed_knowledge` (or the beat's incremental embedding) "
        "writes the passages' vectors."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", choices=KINDS, default="articles")
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=FORMATS,
            help="Default: from the file extension (.csv, .jsonl, .md).",
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows, report the others."
        )

    def handle(self, *args, path: Path, kind: str, fmt: str | None, skip_invalid: bool, **options):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        report = knowledge_import_file(
            kind=kind, source=path, fmt=fmt, filename=str(path), skip_invalid=skip_invalid
        )
        write_report(self, report)
        if not report.ok:
            raise CommandError(
                f"{kind} import stopped: {report.fatal or f'{len(report.errors)} errors'}.",
                returncode=1,
            )
