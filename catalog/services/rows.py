"""Row handling the importers share: validate rows, fill the report's counts, and write
chunks so that a value the database refuses rejects only its own row."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from django import db
from django.db import transaction

from catalog.formats.reading import RowError, SourceRow
from catalog.models import ImportRun
from catalog.services.report import ImportReport

WRITE_CHUNK = 2000


def validate(
    rows: list[SourceRow],
    read_errors: list[RowError],
    cleaner,
    references: Callable[[dict], list[tuple[str, str]]] | None = None,
) -> tuple[list[tuple[SourceRow, dict]], list[RowError]]:
    """Clean every row; reject rows with problems (values, then ``references`` to other rows)
    and repeated external ids. A row's problems are all reported together."""
    errors = list(read_errors)
    valid: list[tuple[SourceRow, dict]] = []
    first_seen: dict[str, SourceRow] = {}
    for row in rows:
        clean, problems = cleaner(row.data)
        if references is not None:
            problems += references(clean)
        if problems:
            errors.extend(row.error(f, r) for f, r in problems)
            continue
        key = clean["external_id"]
        if key in first_seen:
            where = first_seen[key]
            ref = f"line {where.line}" if where.line is not None else f"index {where.index}"
            errors.append(row.error("external_id", f"{key!r} appears twice (first on {ref})"))
            continue
        first_seen[key] = row
        valid.append((row, clean))
    return valid, errors


def finish_validation(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    errors: list[RowError],
    skip_invalid: bool,
) -> bool:
    """Fill counts and status from the errors; True when writing should go ahead."""
    errors.sort(key=error_order)
    report.errors = errors
    report.total_rows = len(rows) + len(read_errors)
    report.rejected = len({(e.line, e.index) for e in errors})
    if errors and not skip_invalid:
        report.status = ImportRun.Status.REJECTED
        return False
    report.status = ImportRun.Status.PARTIAL if errors else ImportRun.Status.SUCCEEDED
    return True


def error_order(error: RowError) -> int:
    return error.line if error.line is not None else error.index or 0


# What the database (or psycopg, encoding a parameter) says about a value it cannot take.
REFUSED_BY_DATABASE = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.errors.ProgramLimitExceeded,  # e.g. text too long for the full-text column
    db.DataError,
    db.IntegrityError,
    UnicodeEncodeError,
)


class RolledBack(Exception):
    """Leaves an import's transaction so that nothing it wrote is kept."""


def database_reason(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, db.Error) and exc.__cause__ else exc
    diag = getattr(cause, "diag", None)
    text = getattr(diag, "message_primary", None) or str(cause) or type(cause).__name__
    return text.splitlines()[0][:200]


def write_isolating(
    report: ImportReport,
    items: Sequence[tuple[SourceRow, dict]],
    write: Callable[[list[dict]], None],
) -> list[RowError]:
    """Write ``items`` with ``write`` in one savepoint. Validation should have refused every
    value the database cannot take; should one slip through, the items are written again one
    at a time, each in its own savepoint, so the bad one is rejected by itself and the others
    land. Returns the refused items' errors; ``report``'s counts cover what was written."""
    counted = ("created", "updated", "unchanged", "shoppers_created")

    def attempt(values: list[dict]) -> BaseException | None:
        before = [getattr(report, name) for name in counted]
        try:
            with transaction.atomic():
                write(values)
        except REFUSED_BY_DATABASE as exc:
            for name, value in zip(counted, before, strict=True):
                setattr(report, name, value)
            return exc
        return None

    if attempt([clean for _, clean in items]) is None:
        return []
    refused = []
    for row, clean in items:
        exc = attempt([clean])
        if exc is not None:
            refused.append(row.error("", f"could not be stored: {database_reason(exc)}"))
    return refused


def reject_refused(report: ImportReport, refused: list[RowError], *, skip_invalid: bool) -> None:
    """Add rows the database refused to the report: with ``skip_invalid`` the rest was kept
    (partial); without, the import was rolled back (rejected, nothing written)."""
    report.errors = sorted([*report.errors, *refused], key=error_order)
    report.rejected = len({(e.line, e.index) for e in report.errors})
    if skip_invalid:
        report.status = ImportRun.Status.PARTIAL
        return
    report.status = ImportRun.Status.REJECTED
    report.created = report.updated = report.unchanged = report.deactivated = 0
    report.shoppers_created = 0
