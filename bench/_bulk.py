"""Big tables fast for the benches that measure pages and queries at millions of rows: COPY rows
in, and a plain catalogue (numbered products and shoppers with neutral values) to hang events on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

PRODUCT_COLUMNS = [
    "external_id",
    "title",
    "description",
    "price",
    "currency",
    "stock",
    "image_url",
    "attributes",
    "active",
    "search_text",
    "needs_embedding",
    "created_at",
    "updated_at",
]
SHOPPER_COLUMNS = [
    "external_id",
    "segment",
    "country",
    "attributes",
    "category_interests",
    "profile_version",
    "created_at",
]

#: the columns the benches fill in ``analytics_servedrequest`` (rows in this order)
SERVED_REQUEST_COLUMNS = [
    "request_id",
    "endpoint",
    "surface",
    "strategy",
    "variant",
    "shopper_id",
    "session",
    "query",
    "shown",
    "result_count",
    "latency_ms",
    "timings",
    "cache_hit",
    "timestamp",
]


def copy_rows(cursor, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``rows`` (psycopg 3)."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def product_row(i: int, now: datetime) -> tuple:
    """Product ``p<i>``: active, in stock, 10 EUR, no text (values in ``PRODUCT_COLUMNS`` order)."""
    return (f"p{i}", f"Product {i}", "", 10.0, "EUR", 5, "", "{}", True, "", False, now, now)


def plain_catalog(
    cursor, *, products: int, shoppers: int, now: datetime, extra_product_columns=None
) -> tuple[int, int]:
    """``products`` products and ``shoppers`` shoppers; returns the first id of each (the ids
    are consecutive). ``extra_product_columns``: ``(names, values(i))`` appended to each product."""
    names, values = extra_product_columns or ([], lambda i: ())
    copy_rows(
        cursor,
        "catalog_product",
        PRODUCT_COLUMNS + list(names),
        (product_row(i, now) + tuple(values(i)) for i in range(products)),
    )
    copy_rows(
        cursor,
        "catalog_shopper",
        SHOPPER_COLUMNS,
        ((f"s{i}", "", "", "{}", "{}", 0, now) for i in range(shoppers)),
    )
    cursor.execute("SELECT min(id) FROM catalog_product")
    first_product = cursor.fetchone()[0]
    cursor.execute("SELECT min(id) FROM catalog_shopper")
    return first_product, cursor.fetchone()[0]
