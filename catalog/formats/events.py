"""Rows of events: cleaned to a complete event (every key filled, a stable ``event_id``
standing in when a file has none) or ``(field, reason)`` problems."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from catalog.formats.contract import EVENT_TYPES
from catalog.formats.values import (
    Invalid,
    Problems,
    as_float,
    as_identifier,
    as_int,
    as_text,
    as_timestamp,
    clean_fields,
    require_fields,
    show,
)


def _event_type(value: Any) -> str:
    text = as_text(value).lower()
    if text not in EVENT_TYPES:
        raise Invalid(f"{show(value)} is not an event type (one of {', '.join(EVENT_TYPES)})")
    return text


_EVENT_SPEC = {
    "event_id": lambda v: as_text(v, max_length=128) or None,
    "shopper": as_identifier,
    "type": _event_type,
    "product": lambda v: as_text(v, max_length=128) or None,
    "timestamp": as_timestamp,
    "query": lambda v: as_text(v, max_length=500),
    "position": lambda v: as_int(v, minimum=0),
    "value": as_float,
    "review": lambda v: as_text(v, strip=False).strip(),
    "session": lambda v: as_text(v, max_length=128),
    "request_id": lambda v: as_text(v, max_length=64),
}
EVENT_FIELDS = tuple(_EVENT_SPEC)


def event_id_for(
    *, shopper: str, type: str, product: str | None, timestamp: datetime, query: str
) -> str:
    """The stable stand-in for a missing event_id: the same event always hashes the same."""
    parts = [shopper, type, product or "", timestamp.astimezone(UTC).isoformat(), query or ""]
    return "h:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def clean_event(data: dict, *, require_event_id: bool = False) -> tuple[dict, Problems]:
    """A complete event (every key filled) or its problems."""
    problems: Problems = []
    required = (
        ("event_id", "shopper", "type", "timestamp")
        if require_event_id
        else ("shopper", "type", "timestamp")
    )
    require_fields(data, required, problems)
    out = clean_fields(data, _EVENT_SPEC, problems)
    if (
        require_event_id
        and "event_id" in data
        and not out.get("event_id")
        and not any(f == "event_id" for f, _ in problems)
    ):
        problems.append(("event_id", "is required (empty)"))
    kind = out.get("type")
    if kind:
        if (
            kind != "search"
            and not out.get("product")
            and "product" not in {f for f, _ in problems}
        ):
            problems.append(("product", f"is required for a {kind} event"))
        if kind == "search" and not out.get("query") and "query" not in {f for f, _ in problems}:
            problems.append(("query", "is required for a search event"))
        value = out.get("value")
        if kind == "rating" and value is None and "value" not in {f for f, _ in problems}:
            problems.append(("value", "is required for a rating event (1 to 5)"))
        if kind in ("rating", "review") and value is not None and not 1 <= value <= 5:
            problems.append(("value", f"{value:g} is not a rating from 1 to 5"))
        if kind == "purchase" and value is not None and value < 0:
            problems.append(("value", f"{value:g} is negative; the price paid is 0 or more"))
        if kind == "review" and not out.get("review") and "review" not in {f for f, _ in problems}:
            problems.append(("review", "is required for a review event"))
    if problems:
        return out, problems
    event = {
        "shopper": out["shopper"],
        "type": out["type"],
        "product": out.get("product"),
        "timestamp": out["timestamp"],
        "query": out.get("query", ""),
        "position": out.get("position"),
        "value": out.get("value"),
        "review": out.get("review", ""),
        "session": out.get("session", ""),
        "request_id": out.get("request_id", ""),
    }
    event["event_id"] = out.get("event_id") or event_id_for(
        shopper=event["shopper"],
        type=event["type"],
        product=event["product"],
        timestamp=event["timestamp"],
        query=event["query"],
    )
    return event, problems
