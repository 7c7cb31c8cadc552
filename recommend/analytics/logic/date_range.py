"""The date range of an analytics page, read from its query string. Plain Python, no Django.

A page is read for one of three presets (``range=24h``, ``7d``, ``30d``: the window that ends
with the current hour, as the dashboard's tiles read it) or a custom range of whole days,
``range=custom&from=YYYY-MM-DD&to=YYYY-MM-DD`` (both days included, in UTC). Anything else is
refused with a sentence that says what is wrong, never silently replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PRESETS: dict[str, tuple[str, timedelta]] = {
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
    "30d": ("last 30 days", timedelta(days=30)),
}
DEFAULT = "7d"
CUSTOM = "custom"
#: the longest custom range a page reads (daily rollups keep it a few hundred rows)
MAX_DAYS = 366


class RangeError(ValueError):
    """The query string does not name a range a page can read; ``str()`` says why."""


@dataclass(frozen=True)
class DateRange:
    """``[start, end)`` in UTC, how it was asked for, and a label for the page."""

    key: str
    start: datetime
    end: datetime
    label: str
    day_from: date | None = None
    day_to: date | None = None

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def bucket(self) -> str:
        """Hourly points up to three days, daily points beyond."""
        return "hour" if self.hours <= 72 else "day"

    def query(self) -> dict[str, str]:
        """The query-string parameters that ask for this range again (links, CSV export)."""
        if self.key == CUSTOM and self.day_from and self.day_to:
            return {
                "range": CUSTOM,
                "from": self.day_from.isoformat(),
                "to": self.day_to.isoformat(),
            }
        return {"range": self.key}


def _end_of_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _day(text: str, name: str) -> date:
    text = (text or "").strip()
    if not text:
        raise RangeError(f"A custom range needs both days: '{name}' is empty (YYYY-MM-DD).")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"'{name}' must be a day written YYYY-MM-DD, not {text[:40]!r}.") from None


def parse(params: dict[str, str], now: datetime) -> DateRange:
    """The range ``params`` (a query string as a dict) ask for, anchored on ``now``.

    No ``range`` (and no ``from``/``to``): the default preset. ``from``/``to`` without
    ``range``: a custom range. Raises :class:`RangeError` on anything else.
    """
    key = (params.get("range") or "").strip()
    if not key:
        key = CUSTOM if (params.get("from") or params.get("to")) else DEFAULT
    if key in PRESETS:
        label, window = PRESETS[key]
        end = _end_of_hour(now)
        return DateRange(key, end - window, end, label)
    if key != CUSTOM:
        names = ", ".join([*PRESETS, CUSTOM])
        raise RangeError(f"Unknown range {key[:40]!r}: choose one of {names}.")
    first, last = _day(params.get("from", ""), "from"), _day(params.get("to", ""), "to")
    if first > last:
        raise RangeError(f"'from' ({first}) is after 'to' ({last}).")
    today = now.astimezone(UTC).date()
    if first > today:
        raise RangeError(f"'from' ({first}) is in the future: nothing was served yet.")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise RangeError(f"The range spans {days} days; at most {MAX_DAYS} are read at once.")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = start + timedelta(days=days)
    label = f"{first} to {last}" if days > 1 else f"{first}"
    return DateRange(CUSTOM, start, end, label, day_from=first, day_to=last)
