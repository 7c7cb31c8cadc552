"""Event ingestion (``POST /api/v1/events`` and event files): validate, resolve products,
create unknown shoppers, insert once per ``event_id`` and bump the shoppers' profiles."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.formats.events import clean_event
from catalog.formats.reading import RowError, SourceRow, rows_from_objects
from catalog.models import Event, Shopper
from catalog.selectors import product_ids_for
from catalog.services.report import ImportReport, Progress
from catalog.services.rows import (
    RolledBack,
    finish_validation,
    reject_refused,
    write_isolating,
)
from catalog.signals import events_stored
from catalog.sql import as_json_param, bulk_cursor, chunks
from platform_core import metrics

EVENT_CHUNK = 1000


def events_ingest_objects(
    *, objects: Sequence[Any], user=None, origin: str = "api"
) -> ImportReport:
    """The events API: ``event_id`` required; valid events are stored even when others are
    rejected; duplicates are stored once."""
    rows, errors = rows_from_objects(objects)
    report = ImportReport(kind="events", source=origin)
    started = time.monotonic()
    events_import(
        report,
        rows=rows,
        read_errors=errors,
        skip_invalid=True,
        require_event_id=True,
        progress=None,
    )
    report.duration_seconds = time.monotonic() - started
    metrics.events_ingested(
        accepted=report.created, duplicate=report.unchanged, rejected=report.rejected
    )
    return report


def events_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    require_event_id: bool,
    progress: Progress,
) -> None:
    errors = list(read_errors)
    valid: list[tuple[SourceRow, dict]] = []
    for row in rows:
        event, problems = clean_event(row.data, require_event_id=require_event_id)
        if problems:
            errors.extend(row.error(f, r) for f, r in problems)
        else:
            valid.append((row, event))
    product_ids = product_ids_for({e["product"] for _, e in valid if e["product"]})
    known: list[tuple[SourceRow, dict]] = []
    for row, event in valid:
        if event["product"] and event["product"] not in product_ids:
            errors.append(row.error("product", f"unknown product {event['product']!r}"))
        else:
            known.append((row, event))
    if not finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    refused: list[RowError] = []
    # one batch (the API): insert and touch the shoppers in a single statement; a file: touch
    # the shoppers once, at the end, so their rows stay locked only for the last statement
    # and live API batches for them are not held up
    seen_by_shopper: dict[int, datetime] | None = None if len(known) <= EVENT_CHUNK else {}

    def write(events: list[dict]) -> None:
        accepted, created_shoppers = _events_write_chunk(
            events, product_ids=product_ids, seen_by_shopper=seen_by_shopper
        )
        report.created += accepted
        report.shoppers_created += created_shoppers

    try:
        with transaction.atomic():
            for chunk in chunks(known, EVENT_CHUNK):
                refused += write_isolating(report, chunk, write)
                if progress and seen_by_shopper is not None:
                    progress(len(chunk), len(known))
            if refused and not skip_invalid:
                raise RolledBack
            if seen_by_shopper is not None:
                _shoppers_touch(seen_by_shopper)
            report.unchanged = len(known) - len(refused) - report.created
            events_stored.send(Event, shopper_external_ids=sorted({e["shopper"] for _, e in known}))
    except RolledBack:
        pass
    if refused:
        reject_refused(report, refused, skip_invalid=skip_invalid)


def shopper_ids_ensure(external_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """external_id -> id for these shoppers, creating the unknown ones (safe when two requests
    create the same shopper at once). Returns the map and how many were created."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}, 0
    table = Shopper._meta.db_table
    with bulk_cursor() as cursor:
        cursor.execute(
            "WITH wanted AS (SELECT json_array_elements_text(%s::json) AS external_id),"
            f" ins AS (INSERT INTO {table} (external_id, segment, country, attributes, category_interests,"
            "   profile_version, created_at)"
            "   SELECT external_id, '', '', '{}'::jsonb, '{}'::jsonb, 0, %s FROM wanted"
            "   ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id)"
            " SELECT external_id, id, TRUE FROM ins"
            f" UNION ALL SELECT s.external_id, s.id, FALSE FROM {table} s JOIN wanted USING (external_id)",
            [as_json_param(wanted), timezone.now()],
        )
        rows = cursor.fetchall()
        ids = {ext: pk for ext, pk, _ in rows}
        created = sum(1 for *_, new in rows if new)
        missing = [ext for ext in wanted if ext not in ids]
        if missing:
            # created by a concurrent request that committed after this statement's snapshot
            cursor.execute(
                f"SELECT external_id, id FROM {table}"
                " WHERE external_id IN (SELECT json_array_elements_text(%s::json))",
                [as_json_param(missing)],
            )
            ids.update(cursor.fetchall())
    return ids, created


_EVENT_INSERT = (
    "INSERT INTO {events} (event_id, shopper_id, product_id, type, query, position, value, review,"
    " session, request_id, timestamp, received_at)"
    " SELECT u.event_id, u.shopper, u.product, u.type, u.query, u.position, u.value, u.review,"
    " u.session, u.request_id, u.timestamp, %s"
    " FROM json_to_recordset(%s::json) AS u(event_id text, shopper bigint, product bigint, type text,"
    " query text, position int, value float8, review text, session text, request_id text,"
    " timestamp timestamptz)"
    " ON CONFLICT (event_id) DO NOTHING RETURNING shopper_id, timestamp"
)
# The shoppers' rows are locked in id order before the UPDATE so concurrent batches never
# deadlock; NO KEY UPDATE (what an UPDATE of non-key columns takes anyway) leaves other
# requests' foreign-key checks unblocked.
_TOUCH = (
    "locked AS (SELECT s.id FROM {shoppers} s JOIN seen USING (id) ORDER BY s.id FOR NO KEY UPDATE OF s),"
    " touched AS (UPDATE {shoppers} AS s SET profile_version = s.profile_version + 1,"
    "  last_seen_at = GREATEST(s.last_seen_at, seen.seen)"
    "  FROM seen, locked WHERE s.id = seen.id AND locked.id = seen.id RETURNING s.id)"
)


def _events_write_chunk(
    events: Sequence[dict],
    *,
    product_ids: dict[str, int],
    seen_by_shopper: dict[int, datetime] | None = None,
) -> tuple[int, int]:
    """Insert a chunk with ON CONFLICT (event_id) DO NOTHING; returns (accepted, new shoppers).

    Without ``seen_by_shopper`` the same statement bumps the shoppers whose events were
    accepted; with it, their latest times are collected there for :func:`_shoppers_touch`.
    Rows go in event_id order so two concurrent requests carrying the same events wait on
    each other instead of deadlocking."""
    shopper_ids, created_shoppers = shopper_ids_ensure(e["shopper"] for e in events)
    rows = [
        {
            **e,
            "shopper": shopper_ids[e["shopper"]],
            "product": product_ids[e["product"]] if e["product"] else None,
        }
        for e in sorted(events, key=lambda e: e["event_id"])
    ]
    tables = {"events": Event._meta.db_table, "shoppers": Shopper._meta.db_table}
    inserted = f"WITH ins AS ({_EVENT_INSERT.format(**tables)}),"
    seen = " seen AS (SELECT shopper_id AS id, max(timestamp) AS seen, count(*) AS n FROM ins GROUP BY 1)"
    params = [timezone.now(), as_json_param(rows)]
    with bulk_cursor() as cursor:
        if seen_by_shopper is None:
            cursor.execute(
                f"{inserted}{seen}, {_TOUCH.format(**tables)}"
                " SELECT COALESCE(SUM(n), 0)::int, (SELECT count(*) FROM touched) FROM seen",
                params,
            )
            return cursor.fetchone()[0], created_shoppers
        cursor.execute(f"{inserted}{seen} SELECT id, seen, n FROM seen", params)
        accepted = 0
        for shopper_id, ts, n in cursor.fetchall():
            accepted += n
            if shopper_id not in seen_by_shopper or ts > seen_by_shopper[shopper_id]:
                seen_by_shopper[shopper_id] = ts
    return accepted, created_shoppers


def _shoppers_touch(seen_by_shopper: dict[int, datetime]) -> None:
    """New events change these shoppers' profiles: bump ``profile_version`` (the serving
    cache key) and move ``last_seen_at`` forward, in the caller's transaction."""
    if not seen_by_shopper:
        return
    rows = [{"id": pk, "seen": seen_by_shopper[pk]} for pk in sorted(seen_by_shopper)]
    with bulk_cursor() as cursor:
        cursor.execute(
            "WITH seen AS (SELECT * FROM json_to_recordset(%s::json) AS u(id bigint, seen timestamptz)), "
            + _TOUCH.format(shoppers=Shopper._meta.db_table)
            + " SELECT count(*) FROM touched",
            [as_json_param(rows)],
        )


# --- Export ----------------------------------------------------------------------------------
