"""Insights → search analytics pages: each shows the planted traffic's figures read from the
rollups, exports what it shows as CSV (formulas escaped), refuses a bad date range in words,
opens for analysts and operators only (fix actions only for those who may take them), is linked
from the admin home's links row and Insights group, and reads the rollups in a fixed number of
queries (never the served log or the events)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from platform_core.admin_site import groups
from platform_core.roles import sync_role_permissions
from tests.factories import UserFactory
from tests.recommend.analytics.planted_traffic import plant

pytestmark = pytest.mark.django_db

PAGES = ("queries", "problems", "positions", "latency")


def _url(slug: str) -> str:
    return reverse(f"admin:analytics_search_{slug}")


@pytest.fixture
def users():
    sync_role_permissions()
    return {
        role: UserFactory(username=f"pages-{role}", role=role)
        for role in ("operator", "analyst", "learner")
    }


@pytest.fixture
def planted():
    return plant()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _row(response, table_id: str, first_cell: str) -> list[str]:
    """The cells of the row of table ``table_id`` whose first cell is ``first_cell``."""
    html = response.content.decode()
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in #{table_id}")


def _csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- figures --------------------------------------------------------------------------------


def test_top_queries_show_volume_ctr_conversion_zero_share_and_click_position(users, planted):
    client = _client(users["analyst"])
    page = client.get(_url("queries"), {"range": "24h"})
    assert page.status_code == 200
    # red shoes: 2 searches, r1's click at position 2 and its purchase
    assert _row(page, "result_list", "red shoes") == [
        "red shoes", "2", "1", "50.0%", "1", "50.0%", "0.0%", "2.0"
    ]  # fmt: skip
    assert _row(page, "result_list", "blue hat")[1:] == [
        "1", "0", "0.0%", "0", "0.0%", "100.0%", "—"
    ]  # fmt: skip
    # searched only as events: query normalised, the recorded click at position 1
    assert _row(page, "result_list", "green socks")[1:4] == ["1", "1", "100.0%"]
    assert _row(page, "result_list", "green socks")[-1] == "1.0"
    # by volume by default; by CTR on request (the highest first)
    first = re.findall(r'<th scope="row">([^<]+)</th>', page.content.decode())[0]
    assert first == "red shoes"
    by_ctr = client.get(_url("queries"), {"range": "24h", "o": "ctr"})
    assert re.findall(r'<th scope="row">([^<]+)</th>', by_ctr.content.decode())[:2] == [
        "green socks",
        "red shoes",
    ]


def test_problem_queries_list_zero_results_and_low_ctr_with_event_recorded_searches(users, planted):
    page = _client(users["operator"]).get(_url("problems"), {"range": "7d", "min": "1"})
    assert page.status_code == 200
    zero = _row(page, "zero-results", "blue hat")
    assert zero[1:7] == ["1", "0", "0.0%", "0", "0.0%", "100.0%"]
    _row(page, "zero-results", "=cmd()")
    with pytest.raises(AssertionError):
        _row(page, "zero-results", "red shoes")  # found something every time
    # low CTR, searched at least once: the zero-click queries first, the recorded one counted
    html = page.content.decode()
    low = html[html.index('id="low-ctr"') :]
    order = re.findall(r'<th scope="row">([^<]+)</th>', low)
    assert order[:2] == ["=cmd()", "blue hat"] and order[2:] == ["red shoes", "green socks"]


def test_positions_page_draws_the_position_bias_curve_and_ctr_by_surface(users, planted):
    client = _client(users["analyst"])
    page = client.get(_url("positions"), {"range": "24h"})
    assert page.status_code == 200
    # position 1 and 2 shown by r1, r2 and r4; 3 by r1 only; r1's click at position 2
    assert _row(page, "positions", "1") == ["1", "3", "0", "0.0%"]
    assert _row(page, "positions", "2") == ["2", "3", "1", "33.3%"]
    assert _row(page, "positions", "3") == ["3", "1", "0", "0.0%"]
    chart = page.content.decode().split('id="position-chart"')[1].split("</div>")[0]
    assert chart.count('class="aisle-bar"') == 3 and "<svg" in chart
    # 4 served searches + 1 recorded as events; the click by id and the recorded click
    assert _row(page, "surfaces", "search") == ["search", "5", "2", "40.0%", "0", "1"]
    assert _row(page, "surfaces", "recommendations")[1:4] == ["1", "0", "0.0%"]
    search_only = client.get(_url("positions"), {"range": "24h", "surface": "search"})
    assert _row(search_only, "positions", "2") == ["2", "2", "1", "50.0%"]


def test_latency_page_shows_volume_and_percentiles_per_stage_and_over_time(users, planted):
    client = _client(users["analyst"])
    page = client.get(_url("latency"), {"range": "24h"})
    assert page.status_code == 200
    total = _row(page, "stages", "total")
    assert total[1] == "5"
    assert 19.0 <= float(total[2].split()[0]) <= 21.0  # p50 of 4 × 20 ms and 1 × 40 ms
    assert 36.0 <= float(total[3].split()[0]) <= 44.0  # from 10 % bins
    assert {"lexical", "semantic"} <= set(
        re.findall(r'<option value="(\w+)"', page.content.decode())
    )
    _row(page, "stages", "lexical")
    hour = planted["start"].strftime("%Y-%m-%d %H:00")
    assert _row(page, "series", hour)[1] == "5"
    one = client.get(
        _url("latency"), {"range": "24h", "endpoint": "recommendations", "stage": "semantic"}
    )
    row = _row(one, "series", hour)
    assert row[1] == "1" and 19.0 <= float(row[2].split()[0]) <= 21.0  # 40 ms / 2


# --- CSV ------------------------------------------------------------------------------------


def test_csv_export_holds_what_the_page_shows_with_formulas_escaped(users, planted):
    client = _client(users["analyst"])
    rows = _csv(client.get(_url("queries"), {"range": "24h", "format": "csv"}))
    by_query = {r["query"]: r for r in rows}
    assert set(by_query) == {"red shoes", "blue hat", "'=cmd()", "green socks"}
    red = by_query["red shoes"]
    assert (red["searches"], red["clicks"], red["purchases"]) == ("2", "1", "1")
    assert float(red["ctr"]) == 0.5 and float(red["average_click_position"]) == 2.0
    problems = _csv(client.get(_url("problems"), {"range": "24h", "format": "csv", "min": "1"}))
    assert [r["query"] for r in problems if r["list"] == "zero_result"] == ["'=cmd()", "blue hat"]
    positions = _csv(client.get(_url("positions"), {"range": "24h", "format": "csv"}))
    assert {"table": "position", "key": "2", "shown_or_requests": "3", "clicks": "1"}.items() <= (
        positions[1].items()
    )
    latency = _csv(client.get(_url("latency"), {"range": "24h", "format": "csv"}))
    assert len(latency) == 24 and sum(int(r["requests"]) for r in latency) == 5


# --- the date range -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"range": "90d"}, "Unknown range '90d'"),
        ({"range": "custom", "from": "2026-13-01", "to": "2026-12-02"}, "YYYY-MM-DD"),
        ({"range": "custom", "from": "", "to": "2026-12-02"}, "'from' is empty"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "is after 'to'"),
        ({"range": "custom", "from": "2020-01-01", "to": "2026-01-01"}, "at most 366"),
    ],
)
def test_a_bad_date_range_is_refused_in_words(users, params, message):
    for slug in PAGES:
        page = _client(users["analyst"]).get(_url(slug), params)
        assert page.status_code == 400
        assert message in page.content.decode().replace("&#x27;", "'"), slug
        assert "range-error" in page.content.decode()


def test_a_future_range_is_refused_and_a_custom_range_reads_whole_days(users, planted):
    client = _client(users["analyst"])
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    page = client.get(_url("queries"), {"from": tomorrow, "to": tomorrow})
    assert page.status_code == 400 and "in the future" in page.content.decode()
    day = planted["start"].date()
    page = client.get(_url("queries"), {"range": "custom", "from": day, "to": day})
    assert page.status_code == 200
    assert _row(page, "result_list", "red shoes")[1] == "2"
    before = day - timedelta(days=3)
    page = client.get(_url("queries"), {"range": "custom", "from": before, "to": before})
    assert "No search in this range." in page.content.decode()


# --- who sees what --------------------------------------------------------------------------

FIXES = ("Add a synonym", "Pin a product", "Boost", "Label intent")


def test_learners_are_refused_analysts_read_without_fixes_operators_get_fixes(users, planted):
    learner = _client(users["learner"])
    for slug in PAGES:
        assert learner.get(_url(slug)).status_code == 403
    analyst = _client(users["analyst"]).get(_url("problems"), {"range": "24h"})
    assert analyst.status_code == 200 and "blue hat" in analyst.content.decode()
    assert not any(f">{fix}</a>" in analyst.content.decode() for fix in FIXES)
    operator = _client(users["operator"]).get(_url("problems"), {"range": "24h"})
    html = operator.content.decode()
    assert all(f">{fix}</a>" in html for fix in FIXES)
    links = re.findall(r'<a href="([^"]+)" class="button aisle-fix">([^<]+)</a>', html)
    by_label = {label: url.replace("&amp;", "&") for url, label in links if "%3Dcmd" in url}
    assert by_label["Pin a product"].endswith("/recommend/pinnedresult/add/?query=%3Dcmd%28%29")
    assert "/training/querytolabel/?q=" in by_label["Label intent"]


def test_fix_actions_open_forms_prefilled_with_the_query(users, planted):
    client = _client(users["operator"])
    html = client.get(_url("problems"), {"range": "24h"}).content.decode()
    hrefs = [
        h.replace("&amp;", "&")
        for h in re.findall(r'<a href="([^"]+)" class="button aisle-fix">', html)
        if "blue+hat" in h
    ]
    pages = {h.split("?")[0]: client.get(h) for h in hrefs}
    assert all(p.status_code == 200 for p in pages.values()), {
        h: p.status_code for h, p in pages.items()
    }
    synonym = pages[reverse("admin:recommend_synonymset_add")].content.decode()
    assert 'value="blue hat, "' in synonym
    pin = pages[reverse("admin:recommend_pinnedresult_add")].content.decode()
    assert 'name="query"' in pin and 'value="blue hat"' in pin
    boost = pages[reverse("admin:recommend_boostrule_add")].content.decode()
    assert 'value="blue hat"' in boost


def test_the_admin_home_links_the_pages_in_the_links_row_and_the_insights_group(users):
    for role in ("analyst", "operator"):
        html = _client(users[role]).get(reverse("admin:index")).content.decode()
        links = html[html.index("aisle-dashboard-links") :].split("</p>")[0]
        insights = html[html.index(f'id="{groups.anchor("insights")}"') :].split("</table>")[0]
        for slug in PAGES:
            assert f'href="{_url(slug)}"' in links, (role, slug)
            assert f'href="{_url(slug)}"' in insights, (role, slug)
    html = _client(users["learner"]).get(reverse("admin:index")).content.decode()
    assert _url("queries") not in html


# --- reads rollups only, in a fixed number of queries ----------------------------------------

# page → queries of the page itself (selectors), on top of the session and user look-ups
QUERIES = {"queries": 1, "problems": 2, "positions": 2, "latency": 2}


@pytest.mark.parametrize("slug", PAGES)
def test_each_page_reads_only_rollups_in_a_fixed_number_of_queries(users, planted, slug):
    client = _client(users["operator"])
    client.get(reverse("admin:index"))  # session and permission caches warm
    baseline = client.get
    with CaptureQueriesContext(connection) as empty:
        baseline(reverse("admin:jsi18n"))
    for params in ({"range": "30d"}, {"range": "24h", "o": "ctr"}):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_url(slug), params).status_code == 200
        sqls = [q["sql"] for q in ctx.captured_queries]
        assert not [s for s in sqls if "analytics_servedrequest" in s or "catalog_event" in s]
        assert len(sqls) - len(empty.captured_queries) == QUERIES[slug], sqls
    plant(
        timezone.now() - timedelta(days=2), prefix="more"
    )  # more traffic, more queries rows: same count
    with CaptureQueriesContext(connection) as ctx:
        client.get(_url(slug), {"range": "30d"})
    assert len(ctx.captured_queries) - len(empty.captured_queries) == QUERIES[slug]


def test_grouped_lists_registered_pages_first_in_their_group():
    apps_ = [
        {
            "app_label": "analytics",
            "models": [{"object_name": "ServedRequest", "name": "Served requests"}],
        }
    ]
    page = {"object_name": "queries", "name": "Top search queries", "admin_url": "/q/"}
    stray = {"object_name": "odd", "name": "A page of no known group", "admin_url": "/o/"}
    out = groups.grouped(
        apps_, index_url="/admin/", pages=[("insights", page), ("no-such-group", stray)]
    )
    by_group = {g["name"]: [m["name"] for m in g["models"]] for g in out}
    assert by_group == {
        "Insights": ["Top search queries", "Served requests"],
        "Platform": ["A page of no known group"],
    }
