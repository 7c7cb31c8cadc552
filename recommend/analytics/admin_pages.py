"""Insights → search analytics: four admin pages read from the rollups (``selectors`` only, a
fixed number of queries whatever the traffic), each with a date range and a CSV export of what
it shows.

- **Top queries**: volume, CTR, conversion, zero-result share, average click position, sortable.
- **Problem queries**: zero-result and low-CTR queries (searches recorded only as events count),
  each with fix actions in place for whoever may take them: add a synonym, pin a product, boost
  a category or brand for the query, label its intent.
- **Click position**: CTR by result position (the position-bias curve) and by surface.
- **Volume and latency**: requests, p50 and p95 per hour or day, per endpoint and per stage.

Who sees them: whoever may view the served-request log (analysts and operators). Fix actions
need the add permission of what they create. Figures are defined in ``docs/analytics.md``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from catalog.csv_safety import SafeCsvWriter
from platform_core.admin_site import pages
from recommend.analytics import selectors
from recommend.analytics.logic import date_range
from recommend.analytics.logic.charts import bars_svg
from recommend.analytics.models import Endpoint

VIEW_PERMISSION = "analytics.view_servedrequest"
TOP_LIMIT = 100
#: rate columns sort the most searched queries (this many) by that rate
RATE_SORT_POOL = 300
PROBLEM_LIMIT = 50

# column key → (heading, how a cell is written on the page)
QUERY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("query", "Query", "text"),
    ("searches", "Searches", "count"),
    ("clicks", "Clicks", "count"),
    ("ctr", "CTR", "rate"),
    ("purchases", "Purchases", "count"),
    ("conversion_rate", "Conversion", "rate"),
    ("zero_result_share", "Zero-result share", "rate"),
    ("average_click_position", "Avg. click position", "position"),
)
RATE_ORDERS = ("ctr", "conversion_rate", "zero_result_share", "average_click_position")


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "position":
        return f"{value:.1f}"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "ms":
        return f"{value:.1f} ms"
    return str(value)


def _url(url_name: str, **query) -> str:
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


class Page:
    """What a page builds: its tables (for the template and the CSV) and extra context."""

    def __init__(self, *, csv_header: list[str], csv_rows: list[list[Any]], **context):
        self.csv_header = csv_header
        self.csv_rows = csv_rows
        self.context = context


def _csv_response(page: Page, filename: str) -> HttpResponse:
    handle = io.StringIO()
    writer = SafeCsvWriter(handle)
    writer.writerow(page.csv_header)
    for row in page.csv_rows:
        writer.writerow(row)
    response = HttpResponse(handle.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# the parameters a page keeps when its range changes (its own filters)
KEPT_PARAMS = ("o", "surface", "endpoint", "stage", "min")


def _render(
    request, *, slug: str, title: str, build: Callable[[Any, date_range.DateRange], Page]
) -> HttpResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    params = request.GET.dict()
    kept = {k: params[k] for k in KEPT_PARAMS if params.get(k)}
    context: dict[str, Any] = {
        "title": title,
        "slug": slug,
        "presets": [(key, label) for key, (label, _) in date_range.PRESETS.items()],
        "kept": kept,
        "params": params,
        "day_from": "",
        "day_to": "",
        "csv_url": "",
        "nav": [(p.title, reverse(f"admin:{p.name}"), p.slug == slug) for p in _PAGES],
    }
    try:
        rng = date_range.parse(params, timezone.now())
    except date_range.RangeError as exc:
        context.update(error=str(exc), range_key=params.get("range", ""))
        return TemplateResponse(
            request,
            f"admin/analytics/{slug}.html",
            {**admin.site.each_context(request), **context},
            status=400,
        )
    page = build(request, rng)
    if params.get("format") == "csv":
        start = rng.start.strftime("%Y%m%d%H")
        end = rng.end.strftime("%Y%m%d%H")
        return _csv_response(page, f"search-{slug}-{start}-{end}.csv")
    range_query = rng.query()
    context.update(
        page.context,
        range=rng,
        range_key=rng.key,
        day_from=rng.day_from.isoformat() if rng.day_from else "",
        day_to=rng.day_to.isoformat() if rng.day_to else "",
        csv_url="?" + urlencode({**kept, **range_query, "format": "csv"}),
        # the other pages open on the same range
        nav=[
            (label, f"{url}?{urlencode(range_query)}", current)
            for label, url, current in context["nav"]
        ],
        range_query=range_query,
    )
    return TemplateResponse(
        request, f"admin/analytics/{slug}.html", {**admin.site.each_context(request), **context}
    )


# --- top queries ---------------------------------------------------------------------------


def _query_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[_cell(r[key], kind) for key, _, kind in QUERY_COLUMNS] for r in rows]


def _top_queries(request, rng: date_range.DateRange) -> Page:
    order = request.GET.get("o", "searches")
    columns = {key for key, _, _ in QUERY_COLUMNS if key != "query"}
    if order not in columns:
        order = "searches"
    if order in selectors.QUERY_ORDERS:
        rows = selectors.top_queries(rng.start, rng.end, limit=TOP_LIMIT, order=order)
    else:
        pool = selectors.top_queries(rng.start, rng.end, limit=RATE_SORT_POOL)
        # best first: highest rate, except the click position (lowest is best); unknown last
        ascending = order == "average_click_position"
        known = [r for r in pool if r[order] is not None]
        known.sort(key=lambda r: (r[order] if ascending else -r[order], -r["searches"]))
        rows = (known + [r for r in pool if r[order] is None])[:TOP_LIMIT]
    base = {**rng.query()}
    headings = [
        (
            heading,
            "" if key == "query" else "?" + urlencode({**base, "o": key}),
            key == order,
        )
        for key, heading, _ in QUERY_COLUMNS
    ]
    return Page(
        csv_header=[key for key, _, _ in QUERY_COLUMNS],
        csv_rows=[[r[key] for key, _, _ in QUERY_COLUMNS] for r in rows],
        headings=headings,
        tbody=_tbody([(cells, None) for cells in _query_rows(rows)]),
        order=order,
        rate_sorted=order in RATE_ORDERS,
        pool=RATE_SORT_POOL,
    )


# --- problem queries -----------------------------------------------------------------------


def _fix_links(user) -> dict[str, Callable[[str], str]]:
    """Fix actions this user may take, each a function of the query to its prefilled form (the
    form URLs are reversed once per page, not per row)."""
    wanted = []
    if user.has_perm("recommend.add_synonymset"):
        wanted.append(
            (
                "Add a synonym",
                "admin:recommend_synonymset_add",
                lambda q: {"terms": f"{q}, ", "note": f"for the search “{q}”"[:200]},
            )
        )
    if user.has_perm("recommend.add_pinnedresult"):
        wanted.append(("Pin a product", "admin:recommend_pinnedresult_add", lambda q: {"query": q}))
    if user.has_perm("recommend.add_boostrule"):
        wanted.append(
            (
                "Boost",
                "admin:recommend_boostrule_add",
                lambda q: {"query": q, "name": f"Boost for “{q}”"[:120]},
            )
        )
    if user.has_perm("training.add_querylabel") and user.has_perm("training.view_querytolabel"):
        wanted.append(
            ("Label intent", "admin:training_querytolabel_changelist", lambda q: {"q": q})
        )
    links: dict[str, Callable[[str], str]] = {}
    for label, url_name, params in wanted:
        base = _url(url_name)
        if base:
            links[label] = lambda q, base=base, params=params: f"{base}?{urlencode(params(q))}"
    return links


def _tbody(rows: list[tuple[list[str], list[tuple[str, str]] | None]]) -> SafeString:
    """Table rows rendered here, not cell by cell in the template (the pages list up to a
    hundred rows of nine figures each): the first cell a row header, then the figures, then,
    when given, the row's fix actions as buttons."""
    out = []
    for i, (cells, fixes) in enumerate(rows):
        html = format_html('<th scope="row">{}</th>', cells[0])
        html += format_html_join("", "<td>{}</td>", ((c,) for c in cells[1:]))
        if fixes is not None:
            buttons = format_html_join(
                " ",
                '<a href="{}" class="button aisle-fix">{}</a>',
                ((url, label) for label, url in fixes),
            )
            html += format_html('<td class="aisle-fixes">{}</td>', buttons)
        out.append(format_html('<tr class="{}">{}</tr>', "row2" if i % 2 else "row1", html))
    return mark_safe("".join(out))


def _problem_queries(request, rng: date_range.DateRange) -> Page:
    try:
        min_searches = max(1, min(int(request.GET.get("min", "5")), 10_000))
    except ValueError:
        min_searches = 5
    zero = selectors.problem_queries(rng.start, rng.end, kind="zero", limit=PROBLEM_LIMIT)
    low = selectors.problem_queries(
        rng.start, rng.end, kind="low_ctr", limit=PROBLEM_LIMIT, min_searches=min_searches
    )
    fixes = _fix_links(request.user)

    def table(rows):
        return _tbody(
            [
                (
                    [_cell(r[key], kind) for key, _, kind in QUERY_COLUMNS],
                    [(label, make(r["query"])) for label, make in fixes.items()] if fixes else None,
                )
                for r in rows
            ]
        )

    csv_rows = [
        [kind, *(r[key] for key, _, _ in QUERY_COLUMNS)]
        for kind, rows in (("zero_result", zero), ("low_ctr", low))
        for r in rows
    ]
    return Page(
        csv_header=["list", *(key for key, _, _ in QUERY_COLUMNS)],
        csv_rows=csv_rows,
        headings=[heading for _, heading, _ in QUERY_COLUMNS],
        zero=table(zero),
        low=table(low),
        min_searches=min_searches,
        can_fix=bool(fixes),
    )


# --- click position ------------------------------------------------------------------------


def _positions(request, rng: date_range.DateRange) -> Page:
    surface = request.GET.get("surface", "")
    if surface not in Endpoint.values:
        surface = ""
    curve = selectors.ctr_by_position(rng.start, rng.end, surface=surface or None)
    surfaces = selectors.ctr_by_surface(rng.start, rng.end)
    chart = bars_svg(
        [(str(r["position"]), r["ctr"]) for r in curve],
        title=f"CTR by result position ({surface or 'all surfaces'})",
    )
    csv_rows = [["position", r["position"], r["shown"], r["clicked"], r["ctr"]] for r in curve]
    csv_rows += [
        ["surface", name, s["requests"], s["clicks"], s["ctr"]] for name, s in surfaces.items()
    ]
    return Page(
        csv_header=["table", "key", "shown_or_requests", "clicks", "ctr"],
        csv_rows=csv_rows,
        chart=mark_safe(chart),
        curve=[
            [
                r["position"],
                _cell(r["shown"], "count"),
                _cell(r["clicked"], "count"),
                _cell(r["ctr"], "rate"),
            ]
            for r in curve
        ],
        surfaces=[
            [
                Endpoint(name).label if name in Endpoint.values else name,
                _cell(s["requests"], "count"),
                _cell(s["clicks"], "count"),
                _cell(s["ctr"], "rate"),
                _cell(s["add_to_carts"], "count"),
                _cell(s["purchases"], "count"),
            ]
            for name, s in surfaces.items()
        ],
        surface=surface,
        surface_choices=Endpoint.choices,
    )


# --- volume and latency --------------------------------------------------------------------


def _latency(request, rng: date_range.DateRange) -> Page:
    endpoint = request.GET.get("endpoint", "")
    if endpoint not in Endpoint.values:
        endpoint = ""
    by_stage = selectors.latency_by_stage(rng.start, rng.end, endpoint=endpoint or None)
    stages = [s["stage"] for s in by_stage]
    stage = request.GET.get("stage", "total")
    if stage not in stages:
        stage = "total"
    bucket = rng.bucket()
    points = selectors.latency_series(
        rng.start, rng.end, endpoint=endpoint or None, stage=stage, bucket=bucket
    )
    fmt = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    return Page(
        csv_header=["start", "endpoint", "stage", "requests", "p50_ms", "p95_ms"],
        csv_rows=[
            [
                p["start"].strftime(fmt),
                endpoint or "all",
                stage,
                p["requests"],
                p["p50_ms"],
                p["p95_ms"],
            ]
            for p in points
        ],
        endpoint=endpoint,
        endpoint_choices=Endpoint.choices,
        stage=stage,
        stages=stages,
        bucket=bucket,
        volume=[p["requests"] for p in points],
        p50=[p["p50_ms"] for p in points],
        p95=[p["p95_ms"] for p in points],
        points=[
            [
                p["start"].strftime(fmt),
                _cell(p["requests"], "count"),
                _cell(p["p50_ms"], "ms"),
                _cell(p["p95_ms"], "ms"),
            ]
            for p in reversed(points)
        ],
        by_stage=[
            [
                s["stage"],
                _cell(s["requests"], "count"),
                _cell(s["p50_ms"], "ms"),
                _cell(s["p95_ms"], "ms"),
            ]
            for s in by_stage
        ],
    )


# --- registration --------------------------------------------------------------------------


_PAGES = pages.register_family(
    prefix="insights/search",
    name_prefix="analytics_search",
    group="insights",
    permission=VIEW_PERMISSION,
    render=_render,
    specs=(
        ("queries", "Top search queries", _top_queries),
        ("problems", "Zero-result and low-CTR queries", _problem_queries),
        ("positions", "CTR by position and surface", _positions),
        ("latency", "Volume and latency", _latency),
    ),
)
