"""Product rows as serving reads them, and the SQL of the engine's filters over them: one
module for the retrievers (which can return their hits' rows with their scores) and every
other reader of rows (recommendations, fallbacks, promotions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from recommend.engine.retrieval import Range

PRODUCT_TABLE = "catalog_product"

# --------------------------------------------------------------------------- filters


def filter_sql(filters: Mapping[str, Any] | None, alias: str = "p") -> tuple[str, list[Any]]:
    """``(sql, params)`` for the active products passing ``filters``."""
    clauses = [f"{alias}.active"]
    params: list[Any] = []
    for name, condition in (filters or {}).items():
        if name in ("category_id", "brand_id", "id"):
            values = (
                sorted(condition)
                if isinstance(condition, set | frozenset | list | tuple)
                else [condition]
            )
            clauses.append(f"{alias}.{name} = ANY(%s)")
            params.append([int(v) for v in values])
        elif name == "price":
            if not isinstance(condition, Range):
                raise ValueError("the price filter takes a Range")
            if condition.min is not None:
                clauses.append(f"{alias}.price >= %s")
                params.append(condition.min)
            if condition.max is not None:
                clauses.append(f"{alias}.price <= %s")
                params.append(condition.max)
        elif name == "in_stock":
            clauses.append(f"{alias}.stock > 0" if condition else f"{alias}.stock <= 0")
        else:
            raise KeyError(f"unknown filter {name!r}")
    return " AND ".join(clauses), params


# --------------------------------------------------------------------------- product rows


@dataclass(frozen=True)
class ProductRow:
    id: int
    external_id: str
    title: str
    price: float
    currency: str
    category_id: int | None
    brand: str | None
    image_url: str
    stock: int
    #: The text matched terms are looked for in (``with_text=True`` only; see MATCH_TEXT_SQL).
    text: str = ""

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


#: The text an explanation's matched terms are looked for in: title, brand/category/attributes
#: and the start of the description.
MATCH_TEXT_SQL = "concat_ws(' ', {a}.title, {a}.search_text, left({a}.description, 400))"


#: A product row's columns after its id, in :class:`ProductRow`'s order (``p``: the product,
#: ``b``: its brand, joined by :data:`ROW_JOIN_SQL`); :data:`MATCH_TEXT_SQL` may follow.
ROW_COLUMNS_SQL = (
    "p.external_id, p.title, p.price, p.currency, p.category_id, b.name, p.image_url, p.stock"
)
ROW_JOIN_SQL = "LEFT JOIN catalog_brand b ON b.id = p.brand_id"


def row_from(pk: int, values: Sequence[Any]) -> ProductRow:
    """A :class:`ProductRow` from the values of :data:`ROW_COLUMNS_SQL` (and the text, when
    there is a ninth value)."""
    text = values[8] if len(values) > 8 else ""
    return ProductRow(
        pk,
        values[0],
        values[1],
        float(values[2]),
        values[3],
        values[4],
        values[5],
        values[6] or "",
        values[7],
        text or "",
    )


def with_hit_rows(sql: str, columns: str) -> str:
    """``sql`` (a statement whose output is ``id`` then ``columns``, comma-separated, in that
    order) with each hit's :class:`ProductRow` values and match text after them, in the same
    statement: the rows the hits' ranking needs come back in the round trip that found them.
    The output's order is not kept (a join): the caller sorts."""
    picked = ", ".join(f"h.{c.strip()}" for c in columns.split(","))
    return (
        f"SELECT h.id, {picked}, {ROW_COLUMNS_SQL}, {MATCH_TEXT_SQL.format(a='p')} FROM ({sql}) h"
        f" JOIN {PRODUCT_TABLE} p ON p.id = h.id {ROW_JOIN_SQL}"
    )


def product_rows(
    product_ids: Sequence[int],
    filters: Mapping[str, Any] | None = None,
    *,
    with_text: bool = False,
) -> dict[int, ProductRow]:
    """Rows of the given active products that pass ``filters``, by id (one query).
    ``with_text``: each row carries its :data:`MATCH_TEXT_SQL` text too, so a search reads
    its candidates and its page's explanation texts in one round trip."""
    if not product_ids:
        return {}
    where, params = filter_sql(filters, "p")
    text = f", {MATCH_TEXT_SQL.format(a='p')}" if with_text else ""
    sql = (
        f"SELECT p.id, {ROW_COLUMNS_SQL}{text} FROM {PRODUCT_TABLE} p {ROW_JOIN_SQL} "
        f"WHERE p.id = ANY(%s) AND {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(product_ids), *params])
        return {row[0]: row_from(row[0], row[1:]) for row in cursor.fetchall()}


def product_texts(product_ids: Sequence[int]) -> dict[int, str]:
    """The :data:`MATCH_TEXT_SQL` text of some products, by id (search reads it with its
    candidates' rows: ``product_rows(..., with_text=True)``)."""
    if not product_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, {MATCH_TEXT_SQL.format(a='p')} FROM {PRODUCT_TABLE} p "
            "WHERE p.id = ANY(%s)",
            [list(product_ids)],
        )
        return dict(cursor.fetchall())


def product_ids_for_external(external_ids: Sequence[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id, id FROM {PRODUCT_TABLE} WHERE external_id = ANY(%s)",
            [list(external_ids)],
        )
        return dict(cursor.fetchall())
