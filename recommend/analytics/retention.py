"""Retention of the served-request log (the daily ``recommend.analytics.tasks.served_retention``).

With ``SERVED_REQUEST_RETENTION_DAYS`` above 0 (90 by default), served requests older than that
many days are deleted; 0 keeps them forever. The figures stay: the rollups that dashboards and
analytics read are kept, and a rollup run never recomputes a day older than the cutoff
(:func:`recompute_cutoff`), since its served requests are gone. An experiment's served requests
stay while the experiment's exposures exist (its results attribute events through them, see
``docs/analytics.md``).

Work is done a day at a time in batches of ``RETENTION_BATCH_SIZE`` rows, each in its own short
transaction, so the flush and the rollups never wait behind one long lock; one run at a time (a
PostgreSQL advisory lock); each run writes one audit-log entry with the count — in the manner
of ``catalog.retention``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

LOCK_KEY = 0x41_69_73_6C_65_53  # "AisleS": pg_try_advisory_lock key of a served-log purge

#: one batch: the day's oldest rows that no experiment's exposure names
_BATCH_SQL = """
DELETE FROM analytics_servedrequest WHERE id IN (
  SELECT s.id FROM analytics_servedrequest s
   WHERE s.timestamp >= %(a)s AND s.timestamp < %(b)s
     AND NOT EXISTS (SELECT 1 FROM recommend_exposure x WHERE x.request_id = s.request_id)
   LIMIT %(n)s)
"""


@dataclass(frozen=True)
class ServedPruneResult:
    cutoff: datetime
    deleted: int
    batches: int
    seconds: float
    skipped: bool = False  # another run held the lock


def recompute_cutoff(now: datetime) -> datetime | None:
    """The start of the oldest day the rollups may still recompute (its served requests are all
    there), or None when the served log is kept forever."""
    days = settings.SERVED_REQUEST_RETENTION_DAYS
    if days <= 0:
        return None
    cutoff = (now - timedelta(days=days)).astimezone(UTC)
    return cutoff.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def served_requests_prune(
    *, older_than: datetime, batch_size: int = 10_000, actor=None
) -> ServedPruneResult:
    """Delete served requests with ``timestamp < older_than`` that no exposure names."""
    from platform_core.services import audit_record

    started = time.monotonic()
    deleted = batches = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return ServedPruneResult(older_than, 0, 0, 0.0, skipped=True)
        try:
            cursor.execute(
                "SELECT min(timestamp) FROM analytics_servedrequest WHERE timestamp < %s",
                [older_than],
            )
            day = cursor.fetchone()[0]
            while day is not None and day < older_than:
                end = min(day + timedelta(days=1), older_than)
                while True:
                    with transaction.atomic():
                        cursor.execute(_BATCH_SQL, {"a": day, "b": end, "n": batch_size})
                        n = cursor.rowcount
                    deleted += n
                    batches += 1
                    if n < batch_size:
                        break
                day = end
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    result = ServedPruneResult(
        cutoff=older_than,
        deleted=deleted,
        batches=batches,
        seconds=round(time.monotonic() - started, 3),
    )
    audit_record(
        actor=actor,
        action="served_requests.prune",
        object_type="analytics.servedrequest",
        object_repr=f"{deleted} served requests older than {older_than:%Y-%m-%d %H:%M} UTC",
        details={
            "cutoff": older_than.isoformat(),
            "deleted": deleted,
            "batches": batches,
            "seconds": result.seconds,
        },
    )
    return result


def served_retention_apply(*, now: datetime | None = None) -> ServedPruneResult | None:
    """Apply ``SERVED_REQUEST_RETENTION_DAYS`` (None when the log is kept forever)."""
    days = settings.SERVED_REQUEST_RETENTION_DAYS
    if days <= 0:
        return None
    now = now or timezone.now()
    return served_requests_prune(
        older_than=now - timedelta(days=days), batch_size=settings.RETENTION_BATCH_SIZE
    )
