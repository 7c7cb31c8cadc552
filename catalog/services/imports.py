"""The one import service for products, categories and shoppers (files, the admin Import
page, ``POST /api/v1/products/bulk``); a file of events goes to :mod:`catalog.services.events`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.formats.contract import KINDS
from catalog.formats.reading import (
    FileFormatError,
    RowError,
    SourceRow,
    check_columns,
    detect_format,
    read_rows,
    rows_from_objects,
)
from catalog.formats.records import (
    PRODUCT_DEFAULTS,
    SHOPPER_DEFAULTS,
    clean_category,
    clean_product,
    clean_shopper,
)
from catalog.formats.values import storable, unstorable_reason
from catalog.import_hooks import import_finished
from catalog.models import Brand, Category, ImportRun, Product, Shopper
from catalog.search_text import category_path_names, product_search_text
from catalog.selectors import category_lookup, category_paths
from catalog.services.edits import products_refresh_search_text
from catalog.services.events import events_import
from catalog.services.report import ImportReport, Progress, record_run
from catalog.services.rows import (
    WRITE_CHUNK,
    RolledBack,
    finish_validation,
    reject_refused,
    validate,
    write_isolating,
)
from catalog.sql import as_json_param, bulk_cursor, chunks

# --- Entry points ----------------------------------------------------------------------------


def catalog_import_file(
    *,
    kind: str,
    source: str | Path | bytes | IO,
    fmt: str | None = None,
    filename: str = "",
    skip_invalid: bool = False,
    full_sync: bool = False,
    user=None,
    origin: str = "command",
    progress: Progress = None,
) -> ImportReport:
    """Import a CSV / JSON Lines file of ``kind`` (products, categories, shoppers, events)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    filename = filename or (
        str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "") or ""
    )
    fmt = fmt or detect_format(filename)
    started = time.monotonic()
    report = ImportReport(  # an uploaded file's name is the client's text too
        kind=kind, source=origin, filename=storable(Path(filename).name) if filename else ""
    )
    try:
        parsed = read_rows(source, fmt=fmt)
        report.warnings += check_columns(kind, parsed)
    except FileFormatError as exc:
        report.status, report.fatal = ImportRun.Status.FAILED, str(exc)
        report.duration_seconds = time.monotonic() - started
        record_run(report, user=user)
        return report
    report = _import_rows(
        report,
        kind=kind,
        rows=parsed.rows,
        read_errors=parsed.errors,
        skip_invalid=skip_invalid,
        full_sync=full_sync,
        user=user,
        progress=progress,
        started=started,
    )
    import_finished(report)  # e.g. the data quality report, queued after the commit
    return report


def products_import_objects(
    *,
    objects: Sequence[Any],
    skip_invalid: bool = False,
    full_sync: bool = False,
    user=None,
    origin: str = "api",
) -> ImportReport:
    """The bulk API: a list of product objects, errors reported by index."""
    rows, errors = rows_from_objects(objects)
    report = ImportReport(kind="products", source=origin)
    return _import_rows(
        report,
        kind="products",
        rows=rows,
        read_errors=errors,
        skip_invalid=skip_invalid,
        full_sync=full_sync,
        user=user,
        progress=None,
        started=time.monotonic(),
    )


def _import_rows(
    report: ImportReport,
    *,
    kind: str,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    full_sync: bool,
    user,
    progress: Progress,
    started: float,
) -> ImportReport:
    if kind == "products":
        _products_import(
            report,
            rows=rows,
            read_errors=read_errors,
            skip_invalid=skip_invalid,
            full_sync=full_sync,
            progress=progress,
        )
    elif kind == "categories":
        _categories_import(
            report, rows=rows, read_errors=read_errors, skip_invalid=skip_invalid, progress=progress
        )
    elif kind == "shoppers":
        _shoppers_import(
            report, rows=rows, read_errors=read_errors, skip_invalid=skip_invalid, progress=progress
        )
    else:
        events_import(
            report,
            rows=rows,
            read_errors=read_errors,
            skip_invalid=skip_invalid,
            require_event_id=False,
            progress=progress,
        )
    report.duration_seconds = time.monotonic() - started
    record_run(report, user=user)
    return report


# --- Products --------------------------------------------------------------------------------

PRODUCT_COMPARED = (
    "title",
    "description",
    "category_id",
    "brand_id",
    "price",
    "currency",
    "stock",
    "image_url",
    "attributes",
    "active",
    "search_text",
)
# A change to any of these re-embeds the product.
_PRODUCT_TEXT = ("title", "description", "category_id", "brand_id", "attributes", "search_text")


def _products_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    full_sync: bool,
    progress: Progress,
) -> None:
    categories, category_names = category_lookup()

    def unknown_category(clean: dict) -> list[tuple[str, str]]:
        ref = clean.get("category")
        return (
            [("category", f"unknown category {ref!r} (import categories first)")]
            if ref and ref not in categories
            else []
        )

    resolved, errors = validate(rows, read_errors, clean_product, unknown_category)
    if not finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    file_ids = [
        r.data.get("external_id")
        for r in rows
        if isinstance(r.data.get("external_id"), str)
        and unstorable_reason(r.data["external_id"]) is None  # matches no stored id
    ]
    refused: list[RowError] = []

    def write(values: list[dict]) -> None:
        _products_write_chunk(
            report,
            values,
            categories=categories,
            category_names=category_names,
            brand_ids=brand_ids,
        )

    try:
        with transaction.atomic():
            brand_ids = _brands_ensure({c["brand"] for _, c in resolved if c.get("brand")})
            for chunk in chunks(resolved, WRITE_CHUNK):
                refused += write_isolating(report, chunk, write)
                if progress:
                    progress(len(chunk), len(resolved))
            if refused and not skip_invalid:
                raise RolledBack
            if full_sync:
                report.deactivated = _products_deactivate_absent(file_ids)
    except RolledBack:
        pass
    if refused:
        reject_refused(report, refused, skip_invalid=skip_invalid)
    if report.created or report.updated:
        fulltext_pending_merge()


def _brands_ensure(names: set[str]) -> dict[str, int]:
    """name -> id, creating the brands that are new."""
    if not names:
        return {}
    existing = dict(Brand.objects.filter(name__in=names).values_list("name", "id"))
    missing = sorted(names - existing.keys())
    if missing:
        Brand.objects.bulk_create([Brand(name=n) for n in missing], ignore_conflicts=True)
        existing.update(Brand.objects.filter(name__in=missing).values_list("name", "id"))
    return existing


def _products_write_chunk(
    report: ImportReport,
    chunk: Sequence[dict],
    *,
    categories: dict[str, tuple[int, str]],
    category_names: dict[str, str],
    brand_ids: dict[str, int],
) -> None:
    ids = [clean["external_id"] for clean in chunk]
    existing = {
        p["external_id"]: p
        for p in Product.objects.filter(external_id__in=ids).values(
            "id", "external_id", "needs_embedding", "brand__name", *PRODUCT_COMPARED
        )
    }
    path_by_id = dict(categories.values())
    inserts, updates = [], []
    for clean in chunk:
        old = existing.get(clean["external_id"])
        # A key the row does not carry keeps the stored value (new rows: the default).
        base = (
            PRODUCT_DEFAULTS
            if old is None
            else {
                **{
                    k: old[k]
                    for k in (
                        "title",
                        "description",
                        "price",
                        "currency",
                        "stock",
                        "image_url",
                        "attributes",
                        "active",
                    )
                },
                "brand": old["brand__name"],
                "category_id": old["category_id"],
            }
        )
        merged = {**base, **clean}
        if "category" in clean or old is None:
            merged["category_id"] = (
                categories[merged["category"]][0] if merged.get("category") else None
            )
        brand = merged.get("brand")
        if "brand" in clean or old is None:
            brand_id = brand_ids[brand] if brand else None
        else:
            brand_id = old["brand_id"]
        values = {
            "external_id": clean["external_id"],
            "title": merged["title"],
            "description": merged["description"],
            "category_id": merged["category_id"],
            "brand_id": brand_id,
            "price": merged["price"],
            "currency": merged["currency"],
            "stock": merged["stock"],
            "image_url": merged["image_url"],
            "attributes": merged["attributes"],
            "active": merged["active"],
            "search_text": product_search_text(
                brand=brand,
                attributes=merged["attributes"],
                category_names=category_path_names(
                    path_by_id.get(merged["category_id"], ""), category_names
                ),
                title=merged["title"],
                description=merged["description"],
                language=settings.CATALOG_LANGUAGE,
            ),
        }
        if old is None:
            inserts.append(values)
            continue
        changed = [f for f in PRODUCT_COMPARED if values[f] != old[f]]
        if not changed:
            report.unchanged += 1
            continue
        values["needs_embedding"] = old["needs_embedding"] or any(
            f in _PRODUCT_TEXT for f in changed
        )
        updates.append(values)
    now = timezone.now()
    if inserts:
        _products_insert(inserts, now=now)
        report.created += len(inserts)
    if updates:
        _products_update(updates, now=now)
        report.updated += len(updates)


_PRODUCT_RECORDSET = (
    "json_to_recordset(%s::json) AS u(external_id text, title text, description text, category_id bigint,"
    " brand_id bigint, price numeric, currency text, stock int, image_url text, attributes jsonb, active bool,"
    " search_text text, needs_embedding bool)"
)


def _products_insert(rows: list[dict], *, now: datetime) -> None:
    table = Product._meta.db_table
    sql = (
        f"INSERT INTO {table} (external_id, title, description, category_id, brand_id, price, currency, stock,"
        " image_url, attributes, active, search_text, needs_embedding, created_at, updated_at)"
        " SELECT u.external_id, u.title, u.description, u.category_id, u.brand_id, u.price, u.currency, u.stock,"
        f" u.image_url, u.attributes, u.active, u.search_text, TRUE, %s, %s FROM {_PRODUCT_RECORDSET}"
        # a concurrent import created it meanwhile: this file's values win, as they would a moment later
        " ON CONFLICT (external_id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,"
        " category_id = EXCLUDED.category_id, brand_id = EXCLUDED.brand_id, price = EXCLUDED.price,"
        " currency = EXCLUDED.currency, stock = EXCLUDED.stock, image_url = EXCLUDED.image_url,"
        " attributes = EXCLUDED.attributes, active = EXCLUDED.active, search_text = EXCLUDED.search_text,"
        " needs_embedding = TRUE, updated_at = EXCLUDED.updated_at"
    )
    with bulk_cursor() as cursor:
        cursor.execute(sql, [now, now, as_json_param(rows)])


def _products_update(rows: list[dict], *, now: datetime) -> None:
    table = Product._meta.db_table
    sql = (
        f"UPDATE {table} AS p SET title = u.title, description = u.description, category_id = u.category_id,"
        " brand_id = u.brand_id, price = u.price, currency = u.currency, stock = u.stock,"
        " image_url = u.image_url, attributes = u.attributes, active = u.active,"
        f" search_text = u.search_text, needs_embedding = u.needs_embedding, updated_at = %s"
        f" FROM {_PRODUCT_RECORDSET} WHERE p.external_id = u.external_id"
    )
    with bulk_cursor() as cursor:
        cursor.execute(sql, [now, as_json_param(rows)])


def _products_deactivate_absent(file_ids: list[str]) -> int:
    """Full sync: active products whose external id is nowhere in the file (valid or not)."""
    table = Product._meta.db_table
    with bulk_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET active = FALSE, updated_at = %s WHERE active"
            " AND external_id NOT IN (SELECT json_array_elements_text(%s::json))",
            [timezone.now(), as_json_param(file_ids)],
        )
        return cursor.rowcount


def _categories_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    progress: Progress,
) -> None:
    valid, errors = validate(rows, read_errors, clean_category)
    existing = {
        c["external_id"]: c
        for c in Category.objects.values(
            "id", "external_id", "name", "parent__external_id", "path", "depth"
        )
    }
    while True:  # with skip_invalid, dropping a row can orphan others: repeat until stable
        parents = {ext: c["parent__external_id"] for ext, c in existing.items()}
        for _, clean in valid:
            old = existing.get(clean["external_id"])
            parents[clean["external_id"]] = (
                clean.get("parent")
                if ("parent" in clean or old is None)
                else old["parent__external_id"]
            )
        paths, problems = category_paths(parents)
        bad = [(row, clean) for row, clean in valid if clean["external_id"] in problems]
        if not bad:
            break
        for row, clean in bad:
            reason = problems[clean["external_id"]][0]
            errors.append(row.error("parent", reason))
        valid = [(r, c) for r, c in valid if c["external_id"] not in problems]
    if not finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    file_rows = {clean["external_id"]: clean for _, clean in valid}
    with transaction.atomic():
        new = [ext for ext in file_rows if ext not in existing]
        created = Category.objects.bulk_create(
            [
                Category(
                    external_id=ext,
                    name=file_rows[ext]["name"],
                    path=paths[ext],
                    depth=paths[ext].count("/"),
                )
                for ext in new
            ]
        )
        ids = {ext: c["id"] for ext, c in existing.items()} | {c.external_id: c.pk for c in created}
        to_update, renamed_or_moved = [], set()
        for ext, path in paths.items():
            old = existing.get(ext)
            clean = file_rows.get(ext)
            name = clean["name"] if clean else old["name"]
            parent = parents[ext]
            if old is None:
                if parent is not None:
                    to_update.append(
                        Category(
                            pk=ids[ext],
                            name=name,
                            parent_id=ids[parent],
                            path=path,
                            depth=path.count("/"),
                        )
                    )
                continue
            changed = (
                name != old["name"] or parent != old["parent__external_id"] or path != old["path"]
            )
            if changed:
                to_update.append(
                    Category(
                        pk=ids[ext],
                        name=name,
                        parent_id=ids[parent] if parent else None,
                        path=path,
                        depth=path.count("/"),
                    )
                )
                renamed_or_moved.add(ids[ext])
            if clean is not None:
                if name != old["name"] or parent != old["parent__external_id"]:
                    report.updated += 1
                else:
                    report.unchanged += 1
        report.created = len(new)
        Category.objects.bulk_update(
            to_update, ["name", "parent", "path", "depth"], batch_size=1000
        )
        if renamed_or_moved:
            # names along the path are part of the products' searchable text
            products_refresh_search_text(category_ids=renamed_or_moved)
        if progress:
            progress(len(valid), len(valid))


# --- Shoppers --------------------------------------------------------------------------------

_SHOPPER_FIELDS = ("segment", "country", "signup_date", "attributes")


def _shoppers_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    progress: Progress,
) -> None:
    valid, errors = validate(rows, read_errors, clean_shopper)
    if not finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    with transaction.atomic():
        for chunk in chunks(valid, WRITE_CHUNK):
            ids = [clean["external_id"] for _, clean in chunk]
            existing = {
                s["external_id"]: s
                for s in Shopper.objects.filter(external_id__in=ids).values(
                    "id", "external_id", *_SHOPPER_FIELDS
                )
            }
            new, changed = [], []
            for _, clean in chunk:
                old = existing.get(clean["external_id"])
                if old is None:
                    values = {**SHOPPER_DEFAULTS, **clean}
                    new.append(
                        Shopper(
                            external_id=clean["external_id"],
                            **{f: values[f] for f in _SHOPPER_FIELDS},
                        )
                    )
                    continue
                values = {f: clean.get(f, old[f]) for f in _SHOPPER_FIELDS}
                if all(values[f] == old[f] for f in _SHOPPER_FIELDS):
                    report.unchanged += 1
                    continue
                changed.append(Shopper(pk=old["id"], **values))
            Shopper.objects.bulk_create(new, batch_size=WRITE_CHUNK)
            Shopper.objects.bulk_update(changed, list(_SHOPPER_FIELDS), batch_size=WRITE_CHUNK)
            report.created += len(new)
            report.updated += len(changed)
            if progress:
                progress(len(chunk), len(valid))


# --- Events ----------------------------------------------------------------------------------


def fulltext_pending_merge() -> int:
    """Merge the product full-text index's pending list into the index now (pages merged).

    A bulk write leaves its new index entries in the GIN pending list until a vacuum (or the
    list's 256 kB cap, migration ``catalog/0010``) merges them, and every lexical search reads
    through that list meanwhile: after a 10k-row write the lexical stage ran 1.3-2.5 times as
    slow until autovacuum came by. The import that wrote them pays the merge instead."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('catalog_product_fts')")
        return int(cursor.fetchone()[0])
