"""A small known day of search traffic for the analytics pages' tests (and their browser test):
served searches and recommendations, clicks and a purchase by request id, a search recorded only
as events, then the rollups refreshed. The figures each page must show are worked out in the
docstrings of the tests that read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from recommend.analytics import rollups
from recommend.analytics.models import ServedRequest
from tests.factories.catalog import EventFactory, ProductFactory, ShopperFactory


def plant(now: datetime | None = None, prefix: str = "planted") -> dict:
    """Plant the traffic two hours before ``now`` (default: now) and refresh the rollups.

    - "red shoes": served twice (r1 shows p1 p2 p3, r2 shows p1 p2); a click on p2 from r1
      (position 2) and a purchase of p2 carrying r1's id;
    - "blue hat": served once with no result;
    - "=cmd()": served once with no result (a formula a spreadsheet must not run);
    - "Green  Socks": searched only as events (a search event, then a click at position 1);
    - a recommendations response r4 showing p3 p1, no click.
    Latencies: searches 20 ms (lexical 5, semantic 10), recommendations 40 ms.
    """
    now = now or timezone.now()
    t = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    p1, p2, p3 = (ProductFactory(external_id=f"{prefix}-{n}") for n in (1, 2, 3))
    a, b = ShopperFactory(external_id=f"{prefix}-a"), ShopperFactory(external_id=f"{prefix}-b")

    def served(rid, endpoint, minutes, shown, query="", latency=20.0):
        ServedRequest.objects.create(
            request_id=f"{prefix}-{rid}",
            endpoint=endpoint,
            surface="search" if endpoint == "search" else "recommendations",
            session="s1",
            query=query,
            shown=[p.pk for p in shown],
            result_count=len(shown),
            latency_ms=latency,
            timings={"total": latency, "lexical": latency / 4, "semantic": latency / 2},
            timestamp=t + timedelta(minutes=minutes),
        )

    served("r1", "search", 0, [p1, p2, p3], "red shoes")
    served("r2", "search", 5, [p1, p2], "red shoes")
    served("r3", "search", 10, [], "blue hat")
    served("r3b", "search", 11, [], "=cmd()")
    served("r4", "recommendations", 15, [p3, p1], latency=40.0)

    def event(name, type, product, minutes, shopper=a, session="s1", **kw):
        EventFactory(
            event_id=f"{prefix}-{name}",
            type=type,
            product=product,
            shopper=shopper,
            session=session,
            timestamp=t + timedelta(minutes=minutes),
            **kw,
        )

    event("e1", "click", p2, 1, request_id=f"{prefix}-r1")
    event("e2", "purchase", p2, 3, request_id=f"{prefix}-r1")
    event("e3", "search", None, 30, shopper=b, session="s2", query="Green  Socks")
    event("e4", "click", p3, 31, shopper=b, session="s2", query="Green Socks", position=1)
    rollups.refresh(now=now, full=True)
    return {"start": t, "products": (p1, p2, p3)}
