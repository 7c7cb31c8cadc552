"""When a job schedule is due: pure functions on aware datetimes (no Django, no database).

A schedule runs ``daily`` or ``weekly`` (on ``weekday``, Monday = 0) at the time of day ``at``
in the time zone ``tz``. It is due at its latest occurrence not after ``now`` when that
occurrence is later than ``since`` (the occurrence handled last, or the schedule's creation):
so a schedule created after today's time waits for tomorrow, and a beat that was down for days
launches once, not once per missed day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

DAILY, WEEKLY = "daily", "weekly"


def _at(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)


def latest_occurrence(
    now: datetime, *, frequency: str, at: time, weekday: int | None, tz: tzinfo
) -> datetime:
    """The last scheduled time at or before ``now``."""
    day = now.astimezone(tz).date()
    if frequency == WEEKLY:
        if weekday is None:
            raise ValueError("a weekly schedule needs a weekday")
        day -= timedelta(days=(day.weekday() - weekday) % 7)
        step = timedelta(days=7)
    elif frequency == DAILY:
        step = timedelta(days=1)
    else:
        raise ValueError(f"unknown frequency {frequency!r}")
    occurrence = _at(day, at, tz)
    while occurrence > now:
        day -= step
        occurrence = _at(day, at, tz)
    return occurrence


def next_occurrence(
    now: datetime, *, frequency: str, at: time, weekday: int | None, tz: tzinfo
) -> datetime:
    """The first scheduled time strictly after ``now``."""
    latest = latest_occurrence(now, frequency=frequency, at=at, weekday=weekday, tz=tz)
    step = timedelta(days=7 if frequency == WEEKLY else 1)
    day = latest.astimezone(tz).date() + step
    occurrence = _at(day, at, tz)
    while occurrence <= now:
        day += step
        occurrence = _at(day, at, tz)
    return occurrence


def due_occurrence(
    now: datetime,
    *,
    since: datetime,
    frequency: str,
    at: time,
    weekday: int | None,
    tz: tzinfo,
) -> datetime | None:
    """The occurrence to launch now, or None when none came after ``since``."""
    latest = latest_occurrence(now, frequency=frequency, at=at, weekday=weekday, tz=tz)
    return latest if latest > since else None
