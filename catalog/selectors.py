"""Reads of the catalog app shared by the admin, the API and other apps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from catalog.models import Category, SearchLog


@dataclass(frozen=True)
class ZeroResultQuery:
    query: str  # the normalised query
    example: str  # one raw query as typed
    searches: int
    shoppers: int
    last_seen: datetime


def zero_result_queries(*, days: int = 7, limit: int = 50) -> list[ZeroResultQuery]:
    """The most frequent searches that found nothing over the last ``days`` days
    (served by the partial index on zero-result searches)."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        SearchLog.objects.filter(result_count=0, timestamp__gte=since)
        .values("normalised_query")
        .annotate(
            searches=Count("id"),
            shoppers=Count("shopper", distinct=True),
            last_seen=Max("timestamp"),
            example=Min("query"),
        )
        .order_by("-searches", "normalised_query")[:limit]
    )
    return [
        ZeroResultQuery(
            query=r["normalised_query"],
            example=r["example"],
            searches=r["searches"],
            shoppers=r["shoppers"],
            last_seen=r["last_seen"],
        )
        for r in rows
    ]


def category_subtree(queryset: QuerySet, *, path: str, field: str = "category__path") -> QuerySet:
    """Rows whose category is ``path`` or below it."""
    from django.db.models import Q

    return queryset.filter(Q(**{field: path}) | Q(**{f"{field}__startswith": f"{path}/"}))


def categories_as_tree() -> list[tuple[str, str]]:
    """(path, indented name) for every category, parents before children."""
    return [
        (path, f"{'— ' * depth}{name}")
        for path, depth, name in Category.objects.order_by("path").values_list(
            "path", "depth", "name"
        )
    ]


def table_row_estimate(table: str) -> int:
    """PostgreSQL's estimate of a table's rows (``pg_class.reltuples``, kept by ANALYZE /
    autovacuum): -1 when the table was never analysed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return int(row[0]) if row else -1


def query_row_estimate(queryset: QuerySet) -> int:
    """The planner's row estimate for a queryset (EXPLAIN, no execution)."""
    import json

    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
