"""Writes of the analytics app: queue and flush the served-request log, refresh the rollups.

A serving response calls :func:`served_record` (one Redis push, never a database write);
``recommend.tasks.flush_served`` writes the rows in batches (:func:`served_flush`), idempotent by
request id, a bad row dead-lettered alone (``platform_core.buffers``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommend.engine.text import normalise

if TYPE_CHECKING:
    from recommend.serving.context import ServingContext

logger = logging.getLogger(__name__)

SERVED_FLUSH_BATCH = 1000
QUERY_MAX_CHARS = 500


def served_row(*, ctx: ServingContext, body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The buffered row of one served response (shown products by external id; the flush
    resolves them to ids in one query per batch)."""
    results = body.get("results") or []
    shown = []
    for item in results:
        product = item.get("product") if isinstance(item, dict) else None
        if isinstance(product, dict) and product.get("id") is not None:
            shown.append(str(product["id"]))
    query = body.get("query") if endpoint == "search" else ""
    timings = {k: round(float(v), 3) for k, v in ctx.timings.items()}
    return {
        "request_id": ctx.request_id,
        "endpoint": endpoint,
        "surface": ctx.surface,
        "strategy": ctx.strategy.name,
        "variant": ctx.variant or "",
        "shopper_id": ctx.shopper.id if ctx.shopper else None,
        "session": (ctx.session or "")[:128],
        "query": normalise(query or "", QUERY_MAX_CHARS) if query else "",
        "shown": shown,
        "result_count": int(body["total"]) if "total" in body else len(results),
        "latency_ms": timings.get("total", 0.0),
        "timings": timings,
        "cache_hit": ctx.notes.get("cache") == "hit",
        "timestamp": ctx.now.isoformat(),
    }


def served_record(*, ctx: ServingContext, body: dict[str, Any], endpoint: str) -> None:
    """Queue one served response for the log. Writes directly only when Redis is unreachable;
    never fails the response it describes. A request that defers its writes
    (``ctx.defer_writes``) sends the row with them, in one round trip."""
    from recommend.analytics.buffers import SERVED

    try:
        row = served_row(ctx=ctx, body=body, endpoint=endpoint)
    except Exception:
        logger.exception("served request %s could not be described", ctx.request_id)
        return
    if ctx.defer_writes:  # sent with the request's other writes (serving.cache.request_writes_send)
        ctx.pushes.append((SERVED, row, _served_fallback))
    elif SERVED.push(row) == "failed":
        _served_fallback(row)


def _served_fallback(row: dict[str, Any]) -> None:
    """Write one served-request row directly (Redis refused it); never raises."""
    try:
        with transaction.atomic():
            _served_write([row])
    except Exception:
        logger.exception(
            "served request %s could not be written (Redis and the database refused it)",
            row["request_id"],
        )


def _served_write(rows: list[dict[str, Any]]) -> int:
    """Insert ServedRequest rows; a request id already stored is skipped (a batch written
    twice is stored once)."""
    from catalog.models import Product
    from recommend.analytics.models import ServedRequest

    external = {str(e) for row in rows for e in row.get("shown") or []}
    ids = dict(Product.objects.filter(external_id__in=external).values_list("external_id", "pk"))
    objects = []
    for row in rows:
        timestamp = row.get("timestamp")
        if isinstance(timestamp, str):
            timestamp = datetime.fromisoformat(timestamp)
        timings = row.get("timings") or {}
        if not isinstance(timings, dict):
            raise ValueError("timings must be an object")
        objects.append(
            ServedRequest(
                request_id=str(row["request_id"])[:64],
                endpoint=str(row.get("endpoint", ""))[:32],
                surface=str(row.get("surface", ""))[:32],
                strategy=str(row.get("strategy", ""))[:120],
                variant=str(row.get("variant") or "")[:120],
                shopper_id=row.get("shopper_id"),
                session=str(row.get("session") or "")[:128],
                query=str(row.get("query") or "")[:QUERY_MAX_CHARS],
                # a product deleted since it was served keeps its place (0): positions hold
                shown=[ids.get(str(e), 0) for e in row.get("shown") or []],
                result_count=int(row.get("result_count", 0)),
                latency_ms=float(row.get("latency_ms", 0.0)),
                timings={str(k)[:32]: float(v) for k, v in timings.items()},
                cache_hit=bool(row.get("cache_hit")),
                timestamp=timestamp or timezone.now(),
            )
        )
    try:
        with transaction.atomic():
            created = ServedRequest.objects.bulk_create(
                objects, ignore_conflicts=True, batch_size=500
            )
    except IntegrityError:  # a shopper forgotten since: keep the row without them
        for obj in objects:
            obj.shopper_id = None
        created = ServedRequest.objects.bulk_create(objects, ignore_conflicts=True, batch_size=500)
    return len(created)


def served_flush(*, max_rows: int = 50_000) -> int:
    """Write queued served requests; returns how many rows were taken from the buffer."""
    from platform_core.buffers import flush
    from recommend.analytics.buffers import SERVED

    return flush(SERVED, _served_write, batch_size=SERVED_FLUSH_BATCH, max_rows=max_rows).taken


def served_pending() -> int:
    from recommend.analytics.buffers import SERVED

    return SERVED.pending()


def rollups_refresh(*, now: datetime | None = None, full: bool = False):
    """Recompute the rollup buckets touched since the last run (``full``: every bucket)."""
    from recommend.analytics import rollups

    return rollups.refresh(now=now, full=full)
