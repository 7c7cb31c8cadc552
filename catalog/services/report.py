"""What an import did (:class:`ImportReport`) and its record (``ImportRun`` and the audit log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.formats.reading import RowError
from catalog.models import ImportRun
from platform_core.services import audit_record

# progress(rows_done_now, rows_to_write): the commands drive a tqdm bar with it
Progress = Callable[[int, int], None] | None
MAX_STORED_ERRORS = 1000


@dataclass
class ImportReport:
    """What an import did. For events ``created`` counts accepted events and ``unchanged``
    duplicates (already stored)."""

    kind: str
    source: str = "command"
    filename: str = ""
    status: str = ImportRun.Status.SUCCEEDED
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deactivated: int = 0
    shoppers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fatal: str = ""
    duration_seconds: float = 0.0
    import_run_id: int | None = None

    @property
    def ok(self) -> bool:
        """False when errors stopped the import (nothing was written)."""
        return self.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "status": self.status,
            "total_rows": self.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "deactivated": self.deactivated,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": self.warnings,
            "duration_seconds": round(self.duration_seconds, 3),
            "import_run": self.import_run_id,
        }
        if self.kind == "events":
            body.update(
                accepted=self.created,
                duplicates=self.unchanged,
                shoppers_created=self.shoppers_created,
            )
        if self.fatal:
            body["message"] = self.fatal
        return body

    def summary(self) -> str:
        if self.fatal:
            return f"{self.kind}: failed — {self.fatal}"
        if self.kind == "events":
            counts = (
                f"{self.created} accepted, {self.unchanged} duplicates, {self.rejected} rejected, "
                f"{self.shoppers_created} new shoppers"
            )
        else:
            counts = (
                f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.rejected} rejected"
            )
            if self.deactivated:
                counts += f", {self.deactivated} deactivated"
        verdict = {
            ImportRun.Status.SUCCEEDED: "imported",
            ImportRun.Status.PARTIAL: "imported the valid rows",
            ImportRun.Status.REJECTED: "REJECTED, nothing imported",
            ImportRun.Status.FAILED: "failed",
        }[self.status]
        return f"{self.kind}: {verdict} — {self.total_rows} rows: {counts} ({self.duration_seconds:.2f} s)"


def record_run(report: ImportReport, *, user) -> None:
    errors = [e.as_dict() for e in report.errors[:MAX_STORED_ERRORS]]
    if report.fatal:
        errors.insert(0, {"line": None, "field": "", "reason": report.fatal})
    warnings = list(report.warnings)
    if len(report.errors) > MAX_STORED_ERRORS:
        warnings.append(
            f"Only the first {MAX_STORED_ERRORS} of {len(report.errors)} errors are stored."
        )
    run = ImportRun.objects.create(
        kind=report.kind,
        source=report.source,
        filename=report.filename[:500],
        status=report.status,
        total_rows=report.total_rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        deactivated=report.deactivated,
        duration_seconds=report.duration_seconds,
        errors=errors,
        warnings=warnings,
        user=user if getattr(user, "pk", None) else None,
    )
    report.import_run_id = run.pk
    if getattr(user, "pk", None):
        audit_record(
            actor=user,
            action=f"catalog.import.{report.kind}",
            obj=run,
            details={k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")},
        )
