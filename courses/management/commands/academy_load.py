"""``manage.py academy_load [DIR]``: import the curriculum folder (default courses/curriculum)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.curriculum_format import CurriculumError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "curriculum"


class Command(BaseCommand):
    help = (
        "Import an Academy curriculum folder (Markdown + YAML): upsert courses, modules, lessons, quizzes, "
        "labs and learning paths by slug. Validates everything first and imports nothing when a file has errors."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            nargs="?",
            default=str(DEFAULT_DIR),
            help=f"Curriculum folder (default: {DEFAULT_DIR}).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Delete modules, lessons and paths that are no longer in the folder "
            "(this deletes learners' progress on them).",
        )

    def handle(self, *args, directory: str, prune: bool, **options):
        from courses import curriculum_sync

        try:
            report = curriculum_sync.curriculum_load(root=directory, prune=prune)
        except CurriculumError as exc:
            for line in exc.errors:
                self.stderr.write(self.style.ERROR(line))
            raise CommandError(
                f"{len(exc.errors)} error(s) in {directory}: nothing was imported."
            ) from None
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        style = self.style.SUCCESS if report.changed else self.style.NOTICE
        self.stdout.write(style(f"Curriculum {directory}: {report.summary()}."))
