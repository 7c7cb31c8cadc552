"""How long a job of a kind will take on this catalogue: the last succeeded run of that kind,
scaled by the rows the kind grows with (``JobKind.scales_with``) then and now.

A job records its row count when it starts (``Job.timings["rows"]``, ``record_rows``), so the
estimate compares like with like; a run from before that was recorded is taken as it was.
Counting stays cheap on a big table: past ``EXACT_COUNT_LIMIT`` rows PostgreSQL's own estimate
of the table size (``pg_class.reltuples``, kept by autovacuum) stands in for ``count(*)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Model, QuerySet

from catalog.models import Event, Product, SearchLog
from training.jobs import JobKind
from training.models import Job

EXACT_COUNT_LIMIT = 200_000

# What a kind's duration grows with: a name, the rows' noun, and the query that counts them.
ROW_COUNTS: dict[str, tuple[str, Callable[[], QuerySet]]] = {
    "products": ("active products", lambda: Product.objects.filter(active=True)),
    "events": ("events", lambda: Event.objects.all()),
    "search_logs": ("logged searches", lambda: SearchLog.objects.all()),
}


def _table_estimate(model: type[Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


def row_count(scales_with: str) -> int | None:
    """Rows of ``scales_with`` now (None for an unknown name)."""
    entry = ROW_COUNTS.get(scales_with)
    if entry is None:
        return None
    queryset = entry[1]()
    estimate = _table_estimate(queryset.model)
    if estimate > EXACT_COUNT_LIMIT:
        # A big table: the planner's size estimate (a filter's share is not worth a scan here).
        return estimate
    return queryset.count()


def record_rows(kind: JobKind, timings: dict) -> None:
    """Put the kind's row count into a starting job's timings (what later estimates scale)."""
    rows = row_count(kind.scales_with)
    if rows is not None:
        timings["rows"] = rows


@dataclass(frozen=True)
class Estimate:
    """The launch page's line for a kind: ``seconds`` is None when there is no previous run."""

    seconds: float | None
    text: str
    job_id: int | None = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def kind_estimate(kind: JobKind, *, rows_now: int | None = None) -> Estimate:
    """The duration of a job of ``kind`` on today's data, from its last succeeded run."""
    last = (
        Job.objects.filter(
            kind=kind.name,
            status=Job.Status.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .only("pk", "started_at", "finished_at", "timings")
        .first()
    )
    if last is None:
        return Estimate(None, "no previous run")
    took = max((last.finished_at - last.started_at).total_seconds(), 0.0)
    noun = ROW_COUNTS.get(kind.scales_with, ("rows",))[0]
    rows_then = (last.timings or {}).get("rows")
    if rows_now is None:
        rows_now = row_count(kind.scales_with)
    if isinstance(rows_then, int | float) and rows_then > 0 and rows_now:
        seconds = took * rows_now / rows_then
        text = (
            f"about {_duration(seconds)} (last run #{last.pk} took {_duration(took)} on "
            f"{int(rows_then):,} {noun}; {rows_now:,} now)"
        )
    else:
        seconds = took
        text = f"about {_duration(took)} (last run #{last.pk}; its {noun} were not counted)"
    return Estimate(seconds, text, last.pk)
