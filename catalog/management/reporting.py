"""What the import commands share: a tqdm progress bar and the printed report."""

from __future__ import annotations

import sys

from tqdm import tqdm

from catalog.services.report import ImportReport

MAX_PRINTED_ERRORS = 50


class ProgressBar:
    """A tqdm bar on stderr driven by the services' ``progress(done_now, total)`` calls."""

    def __init__(self, description: str, *, enabled: bool = True):
        self.bar = tqdm(
            total=0,
            desc=description,
            unit="rows",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
            leave=False,
        )

    def __call__(self, done: int, total: int) -> None:
        if total and self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done)

    def close(self) -> None:
        self.bar.close()


def write_report(command, report: ImportReport) -> None:
    """Print the summary, warnings and the first errors (line, field, reason)."""
    for warning in report.warnings:
        command.stdout.write(command.style.WARNING(f"warning: {warning}"))
    for error in report.errors[:MAX_PRINTED_ERRORS]:
        command.stdout.write(command.style.ERROR(error.message()))
    if len(report.errors) > MAX_PRINTED_ERRORS:
        command.stdout.write(
            command.style.ERROR(
                f"... and {len(report.errors) - MAX_PRINTED_ERRORS} more errors (see import run #{report.import_run_id} in the admin)."
            )
        )
    style = (
        command.style.SUCCESS
        if report.ok and not report.errors
        else (command.style.WARNING if report.ok else command.style.ERROR)
    )
    command.stdout.write(style(report.summary()))
    if not report.ok and not report.fatal:
        command.stdout.write(
            "Nothing was imported. Fix the rows above, or pass --skip-invalid to import the valid rows."
        )
