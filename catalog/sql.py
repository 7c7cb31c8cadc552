"""Bulk SQL on Django's connection: a psycopg cursor with server-side binding and rows as one
JSON parameter (``json_to_recordset``), for the catalog's bulk writes and lookups."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection


@contextmanager
def bulk_cursor() -> Iterator[psycopg.Cursor]:
    """A plain psycopg cursor on Django's connection (so in the caller's transaction) with
    server-side parameter binding: a batch's JSON parameter is sent as is instead of being
    quoted into the SQL text by Django's client-side-binding cursor."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_json_param(value: Any) -> str:
    """Rows (or ids) as one JSON parameter for ``json_to_recordset`` /
    ``json_array_elements_text``: one string the server parses in C, instead of one array
    per column whose every element psycopg would adapt in Python."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
