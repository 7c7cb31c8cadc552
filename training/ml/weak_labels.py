"""Weak intent labels for queries, from what the shopper's session did after searching.

For each search, look at the session's events that follow it — up to the next search, within
``window`` (30 minutes):

- an ``add_to_cart`` or ``purchase``                         → ``buy``
- else a ``rating`` or ``review`` (reading or writing them)  → ``review``
- else a ``view`` or ``click``                               → ``browse``
- nothing at all                                             → no label (the search is skipped)

A query searched in many sessions gets the label most of its sessions point to (ties broken
by the order buy, review, browse, so a stronger signal wins). Plain Python, no Django.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from training.ml.pairs import normalize_query

WINDOW = timedelta(minutes=30)
BUY_TYPES = frozenset({"add_to_cart", "purchase"})
REVIEW_TYPES = frozenset({"rating", "review"})
BROWSE_TYPES = frozenset({"view", "click"})
PRIORITY = ("buy", "review", "browse")


@dataclass(frozen=True)
class SessionEvent:
    """One event of a session as the labeller sees it."""

    session: Hashable
    type: str
    query: str | None
    timestamp: datetime


def label_after(following: Iterable[str]) -> str | None:
    """The weak label for the event types that followed one search (see the module docstring)."""
    seen = set(following)
    if seen & BUY_TYPES:
        return "buy"
    if seen & REVIEW_TYPES:
        return "review"
    if seen & BROWSE_TYPES:
        return "browse"
    return None


def search_outcomes(
    events: Iterable[SessionEvent], window: timedelta = WINDOW
) -> list[tuple[str, str]]:
    """``(normalised query, label)`` for every labelled search, in session and time order."""
    sessions: dict[Hashable, list[SessionEvent]] = defaultdict(list)
    for event in events:
        sessions[event.session].append(event)
    outcomes: list[tuple[str, str]] = []
    for rows in sessions.values():
        rows.sort(key=lambda e: (e.timestamp, e.type != "search"))
        for i, event in enumerate(rows):
            if event.type != "search":
                continue
            query = normalize_query(event.query)
            if not query:
                continue
            following = []
            for later in rows[i + 1 :]:
                if later.type == "search" or later.timestamp - event.timestamp > window:
                    break
                following.append(later.type)
            label = label_after(following)
            if label is not None:
                outcomes.append((query, label))
    return outcomes


def weak_intent_labels(
    events: Iterable[SessionEvent], window: timedelta = WINDOW
) -> dict[str, str]:
    """``{normalised query: majority label}`` over all sessions that searched it."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for query, label in search_outcomes(events, window):
        votes[query][label] += 1
    return {
        query: max(
            counter,
            key=lambda label: (
                counter[label],
                -PRIORITY.index(label) if label in PRIORITY else -99,
            ),
        )
        for query, counter in votes.items()
    }
