"""Retention of shopper events and search logs (the daily ``catalog.tasks.retention_apply``).

With ``EVENT_RETENTION_DAYS`` (or ``SEARCHLOG_RETENTION_DAYS``) above 0, rows whose
``timestamp`` is older than that many days are deleted — or, with ``RETENTION_ARCHIVE``, first
written to a gzipped JSON Lines file under ``DATA_DIR/archive`` and then deleted. 0 (the
default) keeps every row forever.

Work is done in batches of ``RETENTION_BATCH_SIZE`` rows (10,000), each in its own short
transaction, so ingestion and the admin never wait behind one long lock. A batch is chosen
through an existing index (events: ``(type, timestamp)`` per type; search logs: ``timestamp``)
and deleted by primary key. Each run writes one audit-log entry per kind with the count. One
run at a time (a PostgreSQL advisory lock): a second one started meanwhile does nothing.

Archived event lines use the events file contract (external ids, not database ids), so
``gunzip`` and ``import_events`` bring them back; search-log lines keep the SearchLog columns.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.formats.contract import column_names
from catalog.formats.writing import json_value
from catalog.models import Event, EventType, SearchLog
from platform_core.services import audit_record

LOCK_KEY = 0x41_69_73_6C_65_52  # "AisleR": pg_try_advisory_lock key of a retention run


@dataclass(frozen=True)
class PruneResult:
    """What one run did to one kind of row."""

    kind: str
    cutoff: datetime
    deleted: int
    batches: int
    archive: str  # the archive file, or "" when rows were only deleted
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}


@contextmanager
def _run_lock() -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def retention_apply(*, now: datetime | None = None) -> dict[str, PruneResult]:
    """Apply the configured retention to events and search logs; returns what was done per kind
    (nothing for a kind kept forever, and nothing at all while another run holds the lock)."""
    now = now or timezone.now()
    archive_dir = Path(settings.DATA_DIR) / "archive" if settings.RETENTION_ARCHIVE else None
    results: dict[str, PruneResult] = {}
    with _run_lock() as locked:
        if not locked:
            return results
        if settings.EVENT_RETENTION_DAYS > 0:
            results["events"] = events_prune(
                older_than=now - timedelta(days=settings.EVENT_RETENTION_DAYS),
                batch_size=settings.RETENTION_BATCH_SIZE,
                archive_dir=archive_dir,
            )
        if settings.SEARCHLOG_RETENTION_DAYS > 0:
            results["search_logs"] = search_logs_prune(
                older_than=now - timedelta(days=settings.SEARCHLOG_RETENTION_DAYS),
                batch_size=settings.RETENTION_BATCH_SIZE,
                archive_dir=archive_dir,
            )
    for result in results.values():
        days = (
            settings.EVENT_RETENTION_DAYS
            if result.kind == "events"
            else settings.SEARCHLOG_RETENTION_DAYS
        )
        audit_record(
            actor=None,
            action=f"{result.kind}.prune",
            object_type="catalog.event" if result.kind == "events" else "catalog.searchlog",
            object_repr=f"{result.deleted} {result.kind.replace('_', ' ')} older than {days} days",
            details={**result.as_dict(), "days": days},
        )
    return results


def events_prune(
    *, older_than: datetime, batch_size: int = 10_000, archive_dir: Path | None = None
) -> PruneResult:
    """Delete (or archive, then delete) events with ``timestamp < older_than``."""

    def batches() -> Iterator[list[int]]:
        for event_type in EventType.values:  # the (type, timestamp) index finds each batch
            while ids := list(
                Event.objects.filter(type=event_type, timestamp__lt=older_than)
                .order_by("timestamp")
                .values_list("id", flat=True)[:batch_size]
            ):
                yield ids

    return _prune(
        kind="events",
        model=Event,
        older_than=older_than,
        batches=batches(),
        archive_dir=archive_dir,
        archive_rows=_event_lines,
    )


def search_logs_prune(
    *, older_than: datetime, batch_size: int = 10_000, archive_dir: Path | None = None
) -> PruneResult:
    """Delete (or archive, then delete) search logs with ``timestamp < older_than``."""

    def batches() -> Iterator[list[int]]:
        while ids := list(
            SearchLog.objects.filter(timestamp__lt=older_than)
            .order_by("timestamp")
            .values_list("id", flat=True)[:batch_size]
        ):
            yield ids

    return _prune(
        kind="search_logs",
        model=SearchLog,
        older_than=older_than,
        batches=batches(),
        archive_dir=archive_dir,
        archive_rows=_search_log_lines,
    )


def _prune(
    *,
    kind: str,
    model,
    older_than: datetime,
    batches: Iterator[list[int]],
    archive_dir: Path | None,
    archive_rows: Callable[[list[int]], Iterator[dict[str, Any]]],
) -> PruneResult:
    started = time.monotonic()
    deleted = done = 0
    archive_path: Path | None = None
    archive = None
    with ExitStack() as files:
        for ids in batches:
            with transaction.atomic():
                if archive_dir is not None:
                    if archive is None:
                        archive_path = _archive_path(archive_dir, kind)
                        archive = files.enter_context(
                            gzip.open(archive_path, "wt", encoding="utf-8")
                        )
                    for row in archive_rows(ids):
                        archive.write(json.dumps(row, ensure_ascii=False) + "\n")
                    archive.flush()  # written out before the rows are gone
                # .delete(), not raw SQL: rows other apps keep about these go with them
                deleted += model.objects.filter(id__in=ids).delete()[1].get(model._meta.label, 0)
            done += 1
    return PruneResult(
        kind=kind,
        cutoff=older_than,
        deleted=deleted,
        batches=done,
        archive=str(archive_path or ""),
        seconds=round(time.monotonic() - started, 3),
    )


def _archive_path(directory: Path, kind: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    path, n = directory / f"{kind}-{stamp}.jsonl.gz", 1
    while path.exists():
        n += 1
        path = directory / f"{kind}-{stamp}-{n}.jsonl.gz"
    return path


def _event_lines(ids: list[int]) -> Iterator[dict[str, Any]]:
    columns = column_names("events")
    for row in (
        Event.objects.filter(id__in=ids)
        .order_by("timestamp", "id")
        .values(
            "event_id",
            "shopper__external_id",
            "type",
            "product__external_id",
            "timestamp",
            "query",
            "position",
            "value",
            "review",
            "session",
            "request_id",
        )
    ):
        row["shopper"] = row.pop("shopper__external_id")
        row["product"] = row.pop("product__external_id")
        yield {c: json_value(row.get(c)) for c in columns}


def _search_log_lines(ids: list[int]) -> Iterator[dict[str, Any]]:
    for row in (
        SearchLog.objects.filter(id__in=ids)
        .order_by("timestamp", "id")
        .values(
            "request_id",
            "timestamp",
            "query",
            "normalised_query",
            "corrected_query",
            "shopper__external_id",
            "session",
            "result_count",
            "latency_ms",
            "intent",
            "strategy",
            "variant",
            "filters",
            "shown_products",
        )
    ):
        row["shopper"] = row.pop("shopper__external_id")
        yield {k: json_value(v) for k, v in row.items()}
