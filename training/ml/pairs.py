"""Mine (query, engaged product) pairs from shopper events, for fine-tuning the retriever.

A pair comes from an engagement (click, add to cart, purchase) of a product that can be traced
to a query, in this order of precedence:

1. the engagement event carries the query text itself;
2. it carries the ``request_id`` of a search in the same session;
3. it follows a search in the same session by at most ``window`` (30 minutes): the most
   recent such search gets the credit (last-touch).

A search log row enters as an ``EventRow`` of type ``"search"``. Events without a session are
grouped by shopper; events with neither can only count through rule 1.

Weights: click 1 < add to cart 2 < purchase 3. One shopper journey (session, query, product)
counts once, at its strongest engagement, so click → cart → purchase weighs 3, not 6; across
journeys the weights add up and ``count`` is the number of journeys.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SEARCH = "search"
ENGAGEMENT_WEIGHTS: Mapping[str, float] = {"click": 1.0, "add_to_cart": 2.0, "purchase": 3.0}
SESSION_WINDOW = timedelta(minutes=30)

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class EventRow:
    """One shopper event (or search log row) as the miners see it, free of Django models."""

    shopper: Hashable | None
    session: Hashable | None
    type: str
    product: Hashable | None
    query: str | None
    timestamp: datetime
    position: int | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class QueryPair:
    """A normalised query and a product engaged after it, with summed weight and journey count."""

    query: str
    product_id: Hashable
    weight: float
    count: int


@dataclass(frozen=True)
class HardNegative:
    """A training triple: query, engaged product, and a product shown for it but not engaged."""

    query: str
    product_id: Hashable
    negative_id: Hashable


def normalize_query(text: str | None) -> str:
    """Unicode NFKC, casefold, collapse whitespace, strip; ``""`` for None."""
    if not text:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _session_key(event: EventRow) -> Hashable | None:
    if event.session is not None and event.session != "":
        return ("session", event.session)
    if event.shopper is not None:
        return ("shopper", event.shopper)
    return None


def mine_query_pairs(
    events: Iterable[EventRow],
    window: timedelta = SESSION_WINDOW,
    weights: Mapping[str, float] = ENGAGEMENT_WEIGHTS,
) -> list[QueryPair]:
    """Aggregate (normalised query, product) pairs from events; see the module docstring.

    Sorted by weight (highest first), then query and product id, so output is deterministic.
    """
    sessions: dict[Hashable, list[tuple[int, EventRow]]] = defaultdict(list)
    journeys: dict[tuple[Hashable, str, Hashable], float] = {}

    def credit(journey: Hashable, query: str, product: Hashable, weight: float) -> None:
        key = (journey, query, product)
        journeys[key] = max(journeys.get(key, 0.0), weight)

    for index, event in enumerate(events):
        session = _session_key(event)
        if session is None:
            # No session to follow: only an engagement that names its query counts.
            query = normalize_query(event.query)
            if event.type in weights and event.product is not None and query:
                credit(("event", index), query, event.product, weights[event.type])
            continue
        sessions[session].append((index, event))

    for session, rows in sessions.items():
        # Time order; a search and an engagement at the same instant: the search came first.
        rows.sort(key=lambda row: (row[1].timestamp, row[1].type != SEARCH, row[0]))
        last_search: tuple[str, datetime] | None = None
        by_request: dict[str, str] = {}
        for _, event in rows:
            if event.type == SEARCH:
                query = normalize_query(event.query)
                if query:
                    last_search = (query, event.timestamp)
                    if event.request_id:
                        by_request[event.request_id] = query
                continue
            if event.type not in weights or event.product is None:
                continue
            query = normalize_query(event.query)
            if not query and event.request_id:
                query = by_request.get(event.request_id, "")
            if not query and last_search is not None:
                searched, searched_at = last_search
                if event.timestamp - searched_at <= window:
                    query = searched
            if query:
                credit(session, query, event.product, weights[event.type])

    totals: dict[tuple[str, Hashable], list[float]] = defaultdict(lambda: [0.0, 0])
    for (_, query, product), weight in journeys.items():
        total = totals[(query, product)]
        total[0] += weight
        total[1] += 1
    pairs = [
        QueryPair(query=query, product_id=product, weight=weight, count=int(count))
        for (query, product), (weight, count) in totals.items()
    ]
    pairs.sort(key=lambda p: (-p.weight, p.query, str(p.product_id)))
    return pairs


def hard_negatives(
    pairs: Sequence[QueryPair],
    shown_not_clicked: Mapping[str, Iterable[Hashable]],
    per_pair: int = 1,
) -> list[HardNegative]:
    """Pair each (query, product) with products shown for that query but never engaged.

    ``shown_not_clicked`` maps query text (normalised here) to products in the order they were
    shown; higher-placed ones are harder negatives and come first. Any product that is a
    positive for the query is dropped. The pairs of one query take the candidates in turn, so
    different positives get different negatives where there are enough.
    """
    positives: dict[str, set[Hashable]] = defaultdict(set)
    for pair in pairs:
        positives[pair.query].add(pair.product_id)
    shown: dict[str, list[Hashable]] = defaultdict(list)
    for raw_query, products in shown_not_clicked.items():
        query = normalize_query(raw_query)
        for product in products:
            if product not in positives[query] and product not in shown[query]:
                shown[query].append(product)

    triples: list[HardNegative] = []
    used: dict[str, int] = defaultdict(int)
    for pair in pairs:
        candidates = shown.get(pair.query)
        if not candidates:
            continue
        for _ in range(min(per_pair, len(candidates))):
            negative = candidates[used[pair.query] % len(candidates)]
            used[pair.query] += 1
            triples.append(HardNegative(pair.query, pair.product_id, negative))
    return triples
