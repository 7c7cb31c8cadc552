"""Attribution: which served request an event belongs to. One rule, used everywhere (the
rollups' SQL in ``recommend.analytics.rollups`` is this function written as a query, and a test
holds the two to the same cases). Documented for operators in ``docs/analytics.md``.

1. An event that carries a request id belongs to the served request with that id.
2. Otherwise it belongs to the **latest** request of the **same session**, served at most
   :data:`WINDOW` (30 minutes) before the event, **that showed the event's product**.
3. Otherwise it belongs to no request.

A search the storefront recorded only as events (a ``search`` event, then ``click`` events that
carry the query and the position) counts as a request that showed the clicked product: the
click proves it was shown. When rule 2 finds no served request, it looks the same way (same
session, within the window, latest first) for such a search click of the event's product; the
click stands for the search it came from (a click with a query finds itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Shown:
    """A served request (or an event-recorded search click) as attribution sees it."""

    request_id: str
    session: str
    timestamp: datetime
    products: tuple[int, ...]  # shown product ids, in served order (position = index + 1)


@dataclass(frozen=True)
class EventRef:
    """The parts of an event attribution reads."""

    product_id: int | None
    session: str
    timestamp: datetime
    request_id: str = ""


def attribute(
    event: EventRef, served: Iterable[Shown], recorded_clicks: Iterable[Shown] = ()
) -> Shown | None:
    """The served request ``event`` belongs to, or None (the rule in the module docstring).
    ``recorded_clicks``: event-recorded search clicks, each as a one-product ``Shown`` with an
    empty request id."""
    served = list(served)
    if event.request_id:
        for request in served:
            if request.request_id == event.request_id:
                return request
    return _latest_showing(event, served) or _latest_showing(event, recorded_clicks)


def _latest_showing(event: EventRef, candidates: Iterable[Shown]) -> Shown | None:
    if not event.session or event.product_id is None:
        return None
    best = None
    for request in candidates:
        if (
            request.session == event.session
            and event.timestamp - WINDOW < request.timestamp <= event.timestamp
            and event.product_id in request.products
            and (best is None or request.timestamp > best.timestamp)
        ):
            best = request
    return best


def position_of(request: Shown, product_id: int | None) -> int | None:
    """1-based position at which ``request`` showed ``product_id`` (None if it did not)."""
    try:
        return request.products.index(product_id) + 1
    except ValueError:
        return None
