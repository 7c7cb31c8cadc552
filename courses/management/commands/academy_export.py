"""``manage.py academy_export DIR``: write the curriculum in the database as Markdown + YAML."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Write the Academy curriculum (courses, modules, lessons, quizzes, labs, paths) to DIR in the format academy_load reads."

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            help="Folder to write (created if missing; existing course folders are overwritten).",
        )

    def handle(self, *args, directory: str, **options):
        from courses import curriculum_sync

        root = Path(directory)
        if root.exists() and not root.is_dir():
            raise CommandError(f"{root} exists and is not a folder.")
        files = curriculum_sync.curriculum_export(root=root)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(files)} files to {root}."))
