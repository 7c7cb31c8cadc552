"""Export the catalog in the import formats, so the files import back to the same rows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from catalog.formats.writing import RowWriter
from catalog.models import Category, Event, Product, Shopper
from catalog.services.report import Progress
from catalog.sql import bulk_cursor


def _export_rows(kind: str) -> Iterable[dict[str, Any]]:
    if kind == "categories":
        for ext, name, parent in (
            Category.objects.order_by("path")
            .values_list("external_id", "name", "parent__external_id")
            .iterator(chunk_size=5000)
        ):
            yield {"external_id": ext, "name": name, "parent": parent}
    elif kind == "products":
        for row in (
            Product.objects.order_by("external_id")
            .values(
                "external_id",
                "title",
                "description",
                "category__external_id",
                "brand__name",
                "price",
                "currency",
                "stock",
                "image_url",
                "attributes",
                "active",
            )
            .iterator(chunk_size=5000)
        ):
            row["category"] = row.pop("category__external_id")
            row["brand"] = row.pop("brand__name")
            yield row
    elif kind == "shoppers":
        yield from (
            Shopper.objects.order_by("external_id")
            .values("external_id", "segment", "country", "signup_date", "attributes")
            .iterator(chunk_size=5000)
        )
    else:
        for row in (
            Event.objects.order_by("timestamp", "id")
            .values(
                "event_id",
                "shopper__external_id",
                "type",
                "product__external_id",
                "timestamp",
                "query",
                "position",
                "value",
                "review",
                "session",
                "request_id",
            )
            .iterator(chunk_size=10000)
        ):
            row["shopper"] = row.pop("shopper__external_id")
            row["product"] = row.pop("product__external_id")
            yield row


def catalog_export(
    *, directory: str | Path, fmt: str = "csv", progress: Progress = None
) -> dict[str, tuple[Path, int]]:
    """Write categories, products, shoppers and events to ``directory`` in the import
    formats (so the files import back to the same rows). Returns kind -> (path, rows)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[Path, int]] = {}
    nested = connection.in_atomic_block
    with transaction.atomic():
        if not nested:  # one snapshot: events never reference a product missing from the files
            with bulk_cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for kind in ("categories", "products", "shoppers", "events"):
            path = directory / f"{kind}.{fmt}"
            count = 0
            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = RowWriter(handle, kind=kind, fmt=fmt)
                for row in _export_rows(kind):
                    writer.write(row)
                    count += 1
                    if progress and count % 10000 == 0:
                        progress(10000, 0)
            if progress:
                progress(count % 10000, 0)
            written[kind] = (path, count)
    return written


# --- Privacy ---------------------------------------------------------------------------------
