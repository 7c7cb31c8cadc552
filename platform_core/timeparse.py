"""Strict ISO 8601 timestamps for values that end up in PostgreSQL (plain Python, no Django).

Python's ``datetime.fromisoformat`` accepts more than PostgreSQL stores: offsets up to ±24 h
(PostgreSQL ±15:59), years 1 to 9999 (whose UTC conversion can overflow), naive times. A value
accepted here is aware, in UTC, and storable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<offset>Z|z|[+-]\d{2}(:?\d{2})?)"
)


def parse_iso8601_utc(
    raw: str, *, min_year: int = 1970, max_year: int = 2100, max_offset_hours: int = 14
) -> datetime:
    """Parse ``raw`` (``2030-01-02T03:04:05Z``, ``…+02:00``) to an aware UTC datetime.

    Raises ``ValueError`` with a readable message for anything else: an empty value, a missing
    or out-of-range offset (beyond ±``max_offset_hours``, the widest real one is +14:00), a
    year outside ``min_year``–``max_year`` after conversion to UTC, an impossible date.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("an empty value is not a time")
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text[:64]!r} is not an ISO 8601 time with a UTC offset (e.g. 2030-01-02T03:04:05Z)"
        )
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"{text[:64]!r} is not a valid time: {exc}") from None
    offset = moment.utcoffset()
    if offset is None or abs(offset) > timedelta(hours=max_offset_hours):
        raise ValueError(f"{text[:64]!r}: the UTC offset must be within ±{max_offset_hours:02d}:00")
    try:
        return utc_within_years(moment, min_year=min_year, max_year=max_year)
    except ValueError as exc:
        raise ValueError(f"{text[:64]!r}: {exc}") from None


def utc_within_years(moment: datetime, *, min_year: int = 1970, max_year: int = 2100) -> datetime:
    """An aware ``moment`` in UTC; ``ValueError`` when the conversion overflows (year 1 at
    +14:00, year 9999 at -14:00) or the UTC year lies outside ``min_year``–``max_year``."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the year must be within {min_year}–{max_year}") from None
    if not min_year <= moment.year <= max_year:
        raise ValueError(f"the year must be within {min_year}–{max_year}")
    return moment
