"""First-run set-up for the Academy, called by ``manage.py platform_bootstrap`` on every
``make run``: load the shipped curriculum when there are no courses yet."""

from __future__ import annotations

from pathlib import Path

CURRICULUM_DIR = Path(__file__).resolve().parent / "curriculum"


def run(*, stdout, style) -> None:
    from courses import curriculum_sync
    from courses.curriculum_format import CurriculumError
    from courses.models import Course

    if Course.objects.exists():
        stdout.write(
            f"Academy: {Course.objects.count()} courses present; curriculum not reloaded "
            "(use `manage.py academy_load` to update it)."
        )
        return
    try:
        report = curriculum_sync.curriculum_load(root=CURRICULUM_DIR)
    except CurriculumError as exc:
        stdout.write(style.ERROR(f"Academy: the shipped curriculum has errors, not loaded:\n{exc}"))
        return
    stdout.write(style.SUCCESS(f"Academy: loaded the curriculum — {report.summary()}."))
