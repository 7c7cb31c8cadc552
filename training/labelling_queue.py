"""The queue of the admin labelling page (Training → Label queries): logged queries without an
intent label, most searched first, each with a peek at what its sessions did next and the weak
label that suggests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max

from catalog.models import Event, EventType, SearchLog
from training.ml.pairs import normalize_query
from training.ml.weak_labels import WINDOW, label_after
from training.models import QueryLabel

PEEK_SESSIONS = 2
PEEK_EVENTS = 6


@dataclass
class SessionPeek:
    """What one session did after searching: ``(type, product title or query)`` in order."""

    session: str
    steps: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class UnlabelledQuery:
    """A logged query without a label: how often it was searched, the weak label its sessions
    suggest, a peek at those sessions, and the raw spellings it was normalised from."""

    query: str
    searches: int
    suggestion: str | None = None
    peeks: list[SessionPeek] = field(default_factory=list)
    raw: set[str] = field(default_factory=set)


def unlabelled_queries(*, search: str = "") -> list[UnlabelledQuery]:
    """Every logged query (search log + search events) without a label, most searched first."""
    counts: dict[str, UnlabelledQuery] = {}
    logs = SearchLog.objects.values("normalised_query").annotate(
        n=Count("id"), last=Max("timestamp")
    )
    events = (
        Event.objects.filter(type=EventType.SEARCH)
        .exclude(query="")
        .values("query")
        .annotate(n=Count("id"))
    )
    if search:
        logs = logs.filter(normalised_query__icontains=search)
        events = events.filter(query__icontains=search)
    for row in logs:
        query = normalize_query(row["normalised_query"])
        if query:
            item = counts.setdefault(query, UnlabelledQuery(query, 0))
            item.searches += row["n"]
            item.raw.add(row["normalised_query"])
    for row in events:
        query = normalize_query(row["query"])
        if query:
            item = counts.setdefault(query, UnlabelledQuery(query, 0))
            item.searches += row["n"]
            item.raw.add(row["query"])
    # All saved labels at once: cheaper than an IN list of every logged query.
    labelled = set(QueryLabel.objects.values_list("query", flat=True))
    items = [item for q, item in counts.items() if q not in labelled]
    items.sort(key=lambda item: (-item.searches, item.query))
    return items


def attach_peeks(items: list[UnlabelledQuery]) -> None:
    """Fill ``peeks`` and ``suggestion`` (the weak label) for a page of queries: a few queries in
    all, whatever the page size."""
    raw_to_query = {raw: item.query for item in items for raw in item.raw}
    if not raw_to_query:
        return
    starts: dict[str, list[tuple[str, object]]] = defaultdict(
        list
    )  # query -> [(session, timestamp)]
    search_rows = (
        Event.objects.filter(type=EventType.SEARCH, query__in=list(raw_to_query))
        .exclude(session="")
        .order_by("-timestamp")
        .values_list("query", "session", "timestamp")[:2000]
    )
    log_rows = (
        SearchLog.objects.filter(normalised_query__in=list(raw_to_query))
        .exclude(session="")
        .order_by("-timestamp")
        .values_list("normalised_query", "session", "timestamp")[:2000]
    )
    for raw, session, ts in list(search_rows) + list(log_rows):
        query = raw_to_query.get(raw)
        if (
            query
            and len(starts[query]) < PEEK_SESSIONS
            and all(s != session for s, _ in starts[query])
        ):
            starts[query].append((session, ts))
    sessions = {session for pairs in starts.values() for session, _ in pairs}
    if not sessions:
        return
    by_session: dict[str, list[tuple]] = defaultdict(list)
    rows = (
        Event.objects.filter(session__in=sessions)
        .order_by("timestamp", "id")
        .values_list("session", "type", "query", "timestamp", "product__title")
    )
    for session, kind, query, ts, title in rows:
        by_session[session].append((kind, query, ts, title))
    by_query = {item.query: item for item in items}
    for query, pairs in starts.items():
        item = by_query[query]
        outcomes = []
        for session, started in pairs:
            peek = SessionPeek(session=session)
            following = []
            for kind, text, ts, title in by_session.get(session, []):
                if ts <= started:
                    continue
                if kind == EventType.SEARCH or ts - started > WINDOW:
                    if kind == EventType.SEARCH:
                        peek.steps.append(("then searched", text))
                    break
                following.append(kind)
                if len(peek.steps) < PEEK_EVENTS:
                    peek.steps.append((kind, title or text or ""))
            item.peeks.append(peek)
            label = label_after(following)
            if label:
                outcomes.append(label)
        if outcomes:
            item.suggestion = max(set(outcomes), key=outcomes.count)
