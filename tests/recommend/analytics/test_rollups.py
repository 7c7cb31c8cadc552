"""Rollups from the served log and the events: attribution as the documented rule, incremental
(only the days touched since the last run) and idempotent; selectors read only rollups with a
fixed number of queries; a freshly loaded demo store has figures for the last 24 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from catalog.models import Event
from recommend.analytics import rollups, selectors
from recommend.analytics.logic.attribution import EventRef, Shown, attribute
from recommend.analytics.models import (
    EventRollup,
    LatencyRollup,
    PositionRollup,
    ProductDayRollup,
    QueryRollup,
    ServedRequest,
    TrafficRollup,
)
from tests.factories.catalog import EventFactory, ProductFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T = datetime(2026, 12, 1, 10, tzinfo=UTC)
NOW = T + timedelta(hours=2, minutes=30)
DAY = timedelta(days=1)


def _served(request_id, endpoint, minutes, shown, *, session="s1", query="", latency=20.0, **kw):
    return ServedRequest.objects.create(
        request_id=request_id,
        endpoint=endpoint,
        surface="search" if endpoint == "search" else "recommendations",
        session=session,
        query=query,
        shown=[p.pk for p in shown],
        result_count=kw.pop("result_count", len(shown)),
        latency_ms=latency,
        timings={"total": latency, "lexical": latency / 4, "semantic": latency / 2},
        timestamp=T + timedelta(minutes=minutes),
        **kw,
    )


@pytest.fixture
def planted():
    p1, p2, p3 = (ProductFactory(external_id=f"p{n}") for n in (1, 2, 3))
    a, b = ShopperFactory(external_id="a"), ShopperFactory(external_id="b")
    _served("r1", "search", 0, [p1, p2, p3], query="red shoes", latency=20.0)
    _served("r2", "search", 10, [], query="blue hat", latency=10.0)
    _served("r3", "recommendations", 20, [p2, p1], latency=30.0)

    def event(name, type, product, minutes, shopper=a, session="s1", **kw):
        return EventFactory(
            event_id=name,
            type=type,
            product=product,
            shopper=shopper,
            session=session,
            timestamp=T + timedelta(minutes=minutes),
            **kw,
        )

    events = {
        "click-by-id": event("e1", "click", p2, 5, request_id="r1"),  # rule 1 -> r1, position 2
        "cart-by-session": event("e2", "add_to_cart", p2, 25),  # rule 2 -> r3 (latest showing p2)
        "purchase-too-late": event("e3", "purchase", p3, 40),  # r1 showed p3 40 minutes before
        "click-by-session": event("e4", "click", p1, 21),  # rule 2 -> r3, position 2
        "recorded-search": event(
            "e5", "search", None, 30, shopper=b, session="s2", query="Green  Socks"
        ),
        "recorded-click": event(
            "e6", "click", p3, 31, shopper=b, session="s2", query="Green Socks", position=1
        ),
        "purchase-after-recorded-click": event("e7", "purchase", p3, 50, shopper=b, session="s2"),
    }
    # an older day: a view and a click nobody served
    event("old", "view", p1, -3 * 24 * 60)
    return {"products": (p1, p2, p3), "events": events}


def _python_rule(event: Event):
    served = [
        Shown(r.request_id, r.session, r.timestamp, tuple(r.shown))
        for r in ServedRequest.objects.all()
    ]
    clicks = [
        Shown("", c.session, c.timestamp, (c.product_id,))
        for c in Event.objects.filter(type="click").exclude(query="")
    ]
    ref = EventRef(event.product_id, event.session, event.timestamp, event.request_id)
    found = attribute(ref, served, clicks)
    return None if found is None else (found.request_id or "recorded")


def test_the_rollup_query_attributes_as_the_plain_rule_does(planted):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kind, request_id FROM ({rollups.ATTRIBUTED_SQL}) x",
            {"a": T - DAY, "b": T + DAY},
        )
        by_sql = {pk: (None if kind is None else (rid or "recorded")) for pk, kind, rid in cursor}
    for name, event in planted["events"].items():
        if event.type == "search":
            continue
        assert by_sql[event.pk] == _python_rule(event), name
    expected = {
        "click-by-id": "r1",
        "cart-by-session": "r3",
        "purchase-too-late": None,
        "click-by-session": "r3",
        "recorded-click": "recorded",
        "purchase-after-recorded-click": "recorded",
    }
    assert {n: by_sql[planted["events"][n].pk] for n in expected} == expected


def test_rollups_count_traffic_queries_positions_latency_and_events(planted):
    result = rollups.refresh(now=NOW)
    assert result.days == 2  # the planted day and the old one: the first run reads everything
    hour = {"granularity": "hour", "start": T}
    search = TrafficRollup.objects.get(endpoint="search", **hour)
    assert (search.requests, search.recorded_searches, search.zero_results) == (2, 1, 1)
    assert (search.clicks, search.add_to_carts, search.purchases) == (2, 0, 1)
    recs = TrafficRollup.objects.get(endpoint="recommendations", **hour)
    assert (recs.requests, recs.clicks, recs.add_to_carts, recs.purchases) == (1, 1, 1, 0)
    day = TrafficRollup.objects.get(endpoint="search", granularity="day", start=T.replace(hour=0))
    assert (day.requests, day.clicks, day.purchases) == (2, 2, 1)

    queries = {q.query: q for q in QueryRollup.objects.filter(granularity="day")}
    assert set(queries) == {"red shoes", "blue hat", "green socks"}
    assert (queries["red shoes"].clicks, queries["red shoes"].click_position_sum) == (1, 2)
    assert queries["blue hat"].zero_results == 1
    assert (queries["green socks"].searches, queries["green socks"].purchases) == (1, 1)

    positions = {
        (p.endpoint, p.position): (p.shown, p.clicked)
        for p in PositionRollup.objects.filter(granularity="hour")
    }
    assert positions == {
        ("search", 1): (1, 0),
        ("search", 2): (1, 1),
        ("search", 3): (1, 0),
        ("recommendations", 1): (1, 0),
        ("recommendations", 2): (1, 1),
    }
    events = dict(EventRollup.objects.filter(**hour).values_list("type", "count"))
    assert events == {"click": 3, "add_to_cart": 1, "purchase": 2, "search": 1}
    stages = set(LatencyRollup.objects.filter(**hour).values_list("stage", flat=True))
    assert stages == {"total", "lexical", "semantic"}
    p1, p2, _p3 = planted["products"]
    day_rows = ProductDayRollup.objects.filter(day=T.date())
    assert {r.product_id: (r.impressions, r.clicks) for r in day_rows} == {
        p1.pk: (2, 1),
        p2.pk: (2, 1),
        _p3.pk: (1, 0),
    }


def test_ctr_is_the_share_of_searches_with_a_click_not_clicks_per_search(planted):
    """A shopper who clicks three results of one search makes one clicked search: CTR and
    conversion stay shares of searches (clicks per search read 113–119 % on the demo store)."""
    p1, p2, p3 = planted["products"]
    a = planted["events"]["click-by-id"].shopper
    b = planted["events"]["recorded-click"].shopper
    for n, product in enumerate((p1, p3)):  # two more clicks on r1, the same served search
        EventFactory(
            event_id=f"more{n}",
            type="click",
            product=product,
            shopper=a,
            session="s1",
            request_id="r1",
            timestamp=T + timedelta(minutes=6 + n),
        )
    for n, product in enumerate((p1, p2)):  # two more recorded clicks on the recorded search
        EventFactory(
            event_id=f"rec{n}",
            type="click",
            product=product,
            shopper=b,
            session="s2",
            query="green socks",
            timestamp=T + timedelta(minutes=32 + n),
        )
    EventFactory(
        event_id="buy-r1",
        type="purchase",
        product=p2,
        shopper=a,
        session="s1",
        request_id="r1",
        timestamp=T + timedelta(minutes=8),
    )
    rollups.refresh(now=NOW)

    search = TrafficRollup.objects.get(
        endpoint="search", granularity="day", start=T.replace(hour=0)
    )
    assert (search.clicks, search.requests_clicked) == (6, 2)
    assert (search.purchases, search.requests_purchased) == (2, 2)
    tiles = selectors.overview(NOW, timedelta(hours=24))
    assert tiles["searches"] == 3
    assert tiles["ctr"] == pytest.approx(2 / 3)  # was 6 / 3: 200 %
    assert tiles["purchase_rate"] == pytest.approx(2 / 3)

    queries = {q["query"]: q for q in selectors.top_queries(T - DAY, NOW, limit=10)}
    assert (queries["red shoes"]["clicks"], queries["red shoes"]["ctr"]) == (3, 1.0)
    assert (queries["green socks"]["clicks"], queries["green socks"]["ctr"]) == (3, 1.0)
    assert queries["red shoes"]["conversion_rate"] == 1.0
    surfaces = selectors.ctr_by_surface(T - DAY, NOW)
    assert surfaces["search"]["clicks"] == 6
    assert surfaces["search"]["ctr"] == pytest.approx(2 / 3)
    low = selectors.problem_queries(T - DAY, NOW, kind="low_ctr", min_searches=1)
    assert [q["query"] for q in low][-2:] in (
        ["green socks", "red shoes"],
        ["red shoes", "green socks"],
    )
    assert all(0 <= q["ctr"] <= 1 for q in low)


def _snapshot():
    return {
        model.__name__: sorted(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in (TrafficRollup, LatencyRollup, QueryRollup, PositionRollup, EventRollup)
    }


def test_rollups_are_incremental_and_a_rerun_changes_nothing(planted):
    rollups.refresh(now=NOW)
    first = _snapshot()
    assert rollups.refresh(now=NOW).days == 1  # only today (current hour) is re-read
    assert _snapshot() == first
    # a planted change to the old day survives an incremental run: it was not recomputed
    old = T.replace(hour=0) - 3 * DAY
    EventRollup.objects.filter(granularity="day", start=old).update(count=999)
    a = planted["events"]["click-by-id"].shopper
    EventFactory(
        event_id="late",
        type="click",
        product=planted["products"][0],
        shopper=a,
        session="s1",
        timestamp=T + timedelta(minutes=22),
    )
    result = rollups.refresh(now=NOW)
    assert [r[0] for r in result.ranges] == [T.replace(hour=0)]
    assert EventRollup.objects.get(granularity="day", start=old).count == 999
    recs = TrafficRollup.objects.get(endpoint="recommendations", granularity="hour", start=T)
    assert recs.clicks == 2  # the late click belongs to r3 (it showed p1)
    rollups.refresh(now=NOW, full=True)
    assert EventRollup.objects.get(granularity="day", start=old).count == 1


def test_selectors_read_rollups_with_a_fixed_number_of_queries(
    planted, django_assert_max_num_queries
):
    rollups.refresh(now=NOW)
    with django_assert_max_num_queries(3):
        tiles = selectors.overview(NOW, timedelta(hours=24))
    assert tiles["searches"] == 3 and tiles["ctr"] == pytest.approx(2 / 3)
    assert tiles["purchase_rate"] == pytest.approx(1 / 3) and tiles["add_to_cart_rate"] == 0
    assert tiles["zero_result_rate"] == pytest.approx(0.5)
    assert tiles["latency_p50_ms"] == pytest.approx(20, rel=0.06)
    assert tiles["latency_p95_ms"] == pytest.approx(30, rel=0.1)  # one 10 % bin
    assert tiles["events_ingested"] == 7
    assert tiles["requests_by_surface"] == {"search": 2, "recommendations": 1}
    week = selectors.overview(NOW, timedelta(days=7))  # daily rows in the middle, hours at ends
    assert week["events_ingested"] == 8 and week["searches"] == 3

    start, end = T - DAY, NOW
    with django_assert_max_num_queries(1):
        top = selectors.top_queries(start, end, limit=10)
    assert [q["query"] for q in top][:1] in (["blue hat"], ["green socks"], ["red shoes"])
    red = next(q for q in top if q["query"] == "red shoes")
    assert red["ctr"] == 1.0 and red["average_click_position"] == 2.0
    with django_assert_max_num_queries(1):
        zero = selectors.problem_queries(start, end, kind="zero")
    assert [q["query"] for q in zero] == ["blue hat"]
    with django_assert_max_num_queries(1):
        low = selectors.problem_queries(start, end, kind="low_ctr", min_searches=1)
    assert low[0]["query"] == "blue hat"
    with django_assert_max_num_queries(1):
        curve = selectors.ctr_by_position(start, end, surface="search")
    assert [(c["position"], c["shown"], c["clicked"]) for c in curve] == [
        (1, 1, 0),
        (2, 1, 1),
        (3, 1, 0),
    ]
    with django_assert_max_num_queries(1):
        surfaces = selectors.ctr_by_surface(start, end)
    assert surfaces["search"]["requests"] == 3 and surfaces["recommendations"]["clicks"] == 1
    with django_assert_max_num_queries(1):
        latency = selectors.latency_series(T, T + timedelta(hours=1), stage="semantic")
    assert latency[0]["requests"] == 3 and latency[0]["p50_ms"] == pytest.approx(10, rel=0.06)
    with django_assert_max_num_queries(1):
        series = selectors.series(NOW, timedelta(hours=24), "searches", "hour")
    assert len(series) == 24 and dict(series)[T] == 3
    p1, p2, p3 = planted["products"]
    with django_assert_max_num_queries(1):
        shown = selectors.product_impressions([p1.pk, p3.pk, 10**9], T - DAY)
    assert shown == {p1.pk: (2, 1), p3.pk: (1, 0), 10**9: (0, 0)}


def test_a_freshly_loaded_demo_store_has_figures_for_the_last_24_hours(tmp_path):
    from catalog.services.demo import demo_store_build

    demo_store_build(products=150, shoppers=120, days=3, seed=5, truth_dir=tmp_path)
    latest = Event.objects.order_by("-timestamp").values_list("timestamp", flat=True).first()
    now = datetime.now(UTC)
    assert now - timedelta(hours=12) < latest <= now  # the timeline ends at load time
    rollups.refresh(now=now)
    tiles = selectors.overview(now, timedelta(hours=24))
    assert tiles["searches"] > 0 and tiles["events_ingested"] > 0
    assert tiles["ctr"] > 0


def test_a_run_that_finds_another_one_working_skips_instead_of_waiting(planted):
    import psycopg
    from django.db import connection as django_connection

    params = django_connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [rollups.LOCK_KEY])
        result = rollups.refresh(now=NOW)
        other.execute("SELECT pg_advisory_unlock(%s)", [rollups.LOCK_KEY])
    assert result.skipped and result.days == 0
    assert not TrafficRollup.objects.exists()
    assert rollups.refresh(now=NOW).days == 2


def test_make_runs_bootstrap_brings_the_rollups_up_to_date_before_beat_runs(tmp_path):
    import io

    from catalog.services.demo import demo_store_build
    from recommend import bootstrap

    demo_store_build(products=150, shoppers=120, days=3, seed=5, truth_dir=tmp_path)
    now = datetime.now(UTC)
    assert selectors.overview(now, timedelta(hours=24))["events_ingested"] == 0  # not yet rolled up
    out = io.StringIO()
    bootstrap.run(stdout=out)
    tiles = selectors.overview(datetime.now(UTC), timedelta(hours=24))
    assert tiles["searches"] > 0 and tiles["events_ingested"] > 0
    assert "analytics rollups for" in out.getvalue()
