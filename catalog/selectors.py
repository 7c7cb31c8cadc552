"""Reads of the catalog app shared by the admin, the API and other apps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from catalog.models import Category, Event, Product, SearchLog
from catalog.privacy import subject_ref
from catalog.sql import as_json_param, bulk_cursor, chunks
from platform_core.models import AuditLog


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


# --- The category subtree: one rule on the materialised path (external ids joined by '/'),
# a category is in the subtree of ``root`` when its path is ``root`` or starts with ``root/``.


def in_subtree(path: str, root: str) -> bool:
    """The subtree rule for a path in hand (serving's in-memory category tree)."""
    return path == root or path.startswith(f"{root}/")


def subtree_q(root: str, *, field: str = "path") -> Q:
    """The same rule as a query condition on the path column ``field``."""
    return Q(**{field: root}) | Q(**{f"{field}__startswith": f"{root}/"})


def category_subtree(queryset: QuerySet, *, path: str, field: str = "category__path") -> QuerySet:
    """Rows whose category is ``path`` or below it."""
    return queryset.filter(subtree_q(path, field=field))


def category_lookup() -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
    """external_id -> (id, path) and external_id -> name, for every category (a small table)."""
    by_ext, names = {}, {}
    for pk, ext, name, path in Category.objects.values_list("id", "external_id", "name", "path"):
        by_ext[ext] = (pk, path)
        names[ext] = name
    return by_ext, names


def category_subtree_ids(category_id: int) -> list[int]:
    """The category and every category below it (a prefix match on the materialised path)."""
    path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
    if path is None:
        return []
    return list(
        category_subtree(Category.objects.all(), path=path, field="path").values_list(
            "id", flat=True
        )
    )


def category_paths(parents: dict[str, str | None]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Materialised paths for a forest given child -> parent external ids.

    Returns (paths, problems): ``problems[ext]`` lists why a node has no path (unknown parent,
    a cycle); its descendants inherit the problem.
    """
    paths: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for start in parents:
        chain, node = [], start
        seen: set[str] = set()
        while node is not None and node not in paths and node not in problems:
            if node in seen:
                cycle = " > ".join([*chain[chain.index(node) :], node])
                for n in chain:
                    problems[n] = [f"the parent links form a cycle: {cycle}"]
                break
            if node not in parents:
                for n in chain:
                    problems[n] = (
                        [f"unknown parent {node!r}"]
                        if n == chain[-1]
                        else [f"an ancestor's parent {node!r} is unknown"]
                    )
                break
            seen.add(node)
            chain.append(node)
            node = parents[node]
        else:
            base = "" if node is None else paths.get(node)
            if node is not None and base is None:  # the ancestor has a problem
                for n in chain:
                    problems[n] = [f"its ancestor {node!r} was rejected"]
                continue
            for n in reversed(chain):
                base = n if not base else f"{base}/{n}"
                paths[n] = base
    return paths, problems


def product_ids_for(external_ids: set[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    out: dict[str, int] = {}
    with bulk_cursor() as cursor:
        for chunk in chunks(sorted(external_ids), 20000):
            cursor.execute(
                f"SELECT external_id, id FROM {Product._meta.db_table}"
                " WHERE external_id IN (SELECT json_array_elements_text(%s::json))",
                [as_json_param(list(chunk))],
            )
            out.update(cursor.fetchall())
    return out


def catalog_is_empty() -> bool:
    return not Product.objects.exists()


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


def training_events(*, exclude_flagged: bool) -> QuerySet:
    """Events a training job may read. With ``exclude_flagged`` the data quality report's
    flags apply: an event flagged itself, or by its shopper or its product, is left out."""
    events = Event.objects.all()
    if exclude_flagged:
        events = events.filter(
            Q(product__isnull=True) | Q(product__exclude_from_training=False),
            exclude_from_training=False,
            shopper__exclude_from_training=False,
        )
    return events


def training_search_logs(*, exclude_flagged: bool) -> QuerySet:
    """Search logs a training job may read (with ``exclude_flagged``: not a flagged shopper's)."""
    logs = SearchLog.objects.all()
    if exclude_flagged:
        logs = logs.filter(Q(shopper__isnull=True) | Q(shopper__exclude_from_training=False))
    return logs


def shopper_forgotten(external_id: str) -> bool:
    """Whether a shopper with this external id was forgotten (``shopper_forget``): the audit
    log keeps only the id's hash (one indexed lookup)."""
    return AuditLog.objects.filter(
        object_type="catalog.shopper", object_id=subject_ref(external_id), action="shopper.forget"
    ).exists()
