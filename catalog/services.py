"""Writes of the catalog app: the one import service (files, admin upload, bulk API), event
ingestion, export, privacy (forget / export a shopper).

Every way in — ``import_catalog`` / ``import_events``, the admin Import page,
``POST /api/v1/products/bulk`` and ``POST /api/v1/events`` — validates with
:mod:`catalog.formats` and writes here, in bulk: each chunk of rows travels as one JSON
parameter into ``INSERT ... SELECT FROM json_to_recordset(...)`` (one statement per chunk, not
one per row); the demo store uses COPY.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import psycopg
from django import db
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog import formats, privacy
from catalog.formats import FileFormatError, RowError, SourceRow
from catalog.models import Brand, Category, Event, ImportRun, Product, SearchLog, Shopper
from catalog.search_text import category_path_names, product_search_text
from catalog.signals import events_stored
from platform_core.services import audit_record

# progress(rows_done_now, rows_to_write): the commands drive a tqdm bar with it
Progress = Callable[[int, int], None] | None
WRITE_CHUNK = 2000
EVENT_CHUNK = 1000
MAX_STORED_ERRORS = 1000


@dataclass
class ImportReport:
    """What an import did. For events ``created`` counts accepted events and ``unchanged``
    duplicates (already stored)."""

    kind: str
    source: str = "command"
    filename: str = ""
    status: str = ImportRun.Status.SUCCEEDED
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deactivated: int = 0
    shoppers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fatal: str = ""
    duration_seconds: float = 0.0
    import_run_id: int | None = None

    @property
    def ok(self) -> bool:
        """False when errors stopped the import (nothing was written)."""
        return self.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "status": self.status,
            "total_rows": self.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "deactivated": self.deactivated,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": self.warnings,
            "duration_seconds": round(self.duration_seconds, 3),
            "import_run": self.import_run_id,
        }
        if self.kind == "events":
            body.update(
                accepted=self.created,
                duplicates=self.unchanged,
                shoppers_created=self.shoppers_created,
            )
        if self.fatal:
            body["message"] = self.fatal
        return body

    def summary(self) -> str:
        if self.fatal:
            return f"{self.kind}: failed — {self.fatal}"
        if self.kind == "events":
            counts = (
                f"{self.created} accepted, {self.unchanged} duplicates, {self.rejected} rejected, "
                f"{self.shoppers_created} new shoppers"
            )
        else:
            counts = (
                f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.rejected} rejected"
            )
            if self.deactivated:
                counts += f", {self.deactivated} deactivated"
        verdict = {
            ImportRun.Status.SUCCEEDED: "imported",
            ImportRun.Status.PARTIAL: "imported the valid rows",
            ImportRun.Status.REJECTED: "REJECTED, nothing imported",
            ImportRun.Status.FAILED: "failed",
        }[self.status]
        return f"{self.kind}: {verdict} — {self.total_rows} rows: {counts} ({self.duration_seconds:.2f} s)"


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
    if kind not in formats.KINDS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(formats.KINDS)}.")
    filename = filename or (
        str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "") or ""
    )
    fmt = fmt or formats.detect_format(filename)
    started = time.monotonic()
    report = ImportReport(  # an uploaded file's name is the client's text too
        kind=kind, source=origin, filename=formats.storable(Path(filename).name) if filename else ""
    )
    try:
        parsed = formats.read_rows(source, fmt=fmt)
        report.warnings += formats.check_columns(kind, parsed)
    except FileFormatError as exc:
        report.status, report.fatal = ImportRun.Status.FAILED, str(exc)
        report.duration_seconds = time.monotonic() - started
        _record_run(report, user=user)
        return report
    return _import_rows(
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


def products_import_objects(
    *,
    objects: Sequence[Any],
    skip_invalid: bool = False,
    full_sync: bool = False,
    user=None,
    origin: str = "api",
) -> ImportReport:
    """The bulk API: a list of product objects, errors reported by index."""
    rows, errors = formats.rows_from_objects(objects)
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


def events_ingest_objects(
    *, objects: Sequence[Any], user=None, origin: str = "api"
) -> ImportReport:
    """The events API: ``event_id`` required; valid events are stored even when others are
    rejected; duplicates are stored once."""
    rows, errors = formats.rows_from_objects(objects)
    report = ImportReport(kind="events", source=origin)
    started = time.monotonic()
    _events_import(
        report,
        rows=rows,
        read_errors=errors,
        skip_invalid=True,
        require_event_id=True,
        progress=None,
    )
    report.duration_seconds = time.monotonic() - started
    return report


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
        _events_import(
            report,
            rows=rows,
            read_errors=read_errors,
            skip_invalid=skip_invalid,
            require_event_id=False,
            progress=progress,
        )
    report.duration_seconds = time.monotonic() - started
    _record_run(report, user=user)
    return report


def _record_run(report: ImportReport, *, user) -> None:
    errors = [e.as_dict() for e in report.errors[:MAX_STORED_ERRORS]]
    if report.fatal:
        errors.insert(0, {"line": None, "field": "", "reason": report.fatal})
    warnings = list(report.warnings)
    if len(report.errors) > MAX_STORED_ERRORS:
        warnings.append(
            f"Only the first {MAX_STORED_ERRORS} of {len(report.errors)} errors are stored."
        )
    run = ImportRun.objects.create(
        kind=report.kind,
        source=report.source,
        filename=report.filename[:500],
        status=report.status,
        total_rows=report.total_rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        deactivated=report.deactivated,
        duration_seconds=report.duration_seconds,
        errors=errors,
        warnings=warnings,
        user=user if getattr(user, "pk", None) else None,
    )
    report.import_run_id = run.pk
    if getattr(user, "pk", None):
        audit_record(
            actor=user,
            action=f"catalog.import.{report.kind}",
            obj=run,
            details={k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")},
        )


def _validate(
    rows: list[SourceRow],
    read_errors: list[RowError],
    cleaner,
    references: Callable[[dict], list[tuple[str, str]]] | None = None,
) -> tuple[list[tuple[SourceRow, dict]], list[RowError]]:
    """Clean every row; reject rows with problems (values, then ``references`` to other rows)
    and repeated external ids. A row's problems are all reported together."""
    errors = list(read_errors)
    valid: list[tuple[SourceRow, dict]] = []
    first_seen: dict[str, SourceRow] = {}
    for row in rows:
        clean, problems = cleaner(row.data)
        if references is not None:
            problems += references(clean)
        if problems:
            errors.extend(row.error(f, r) for f, r in problems)
            continue
        key = clean["external_id"]
        if key in first_seen:
            where = first_seen[key]
            ref = f"line {where.line}" if where.line is not None else f"index {where.index}"
            errors.append(row.error("external_id", f"{key!r} appears twice (first on {ref})"))
            continue
        first_seen[key] = row
        valid.append((row, clean))
    return valid, errors


def _finish_validation(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    errors: list[RowError],
    skip_invalid: bool,
) -> bool:
    """Fill counts and status from the errors; True when writing should go ahead."""
    errors.sort(key=_error_order)
    report.errors = errors
    report.total_rows = len(rows) + len(read_errors)
    report.rejected = len({(e.line, e.index) for e in errors})
    if errors and not skip_invalid:
        report.status = ImportRun.Status.REJECTED
        return False
    report.status = ImportRun.Status.PARTIAL if errors else ImportRun.Status.SUCCEEDED
    return True


def _error_order(error: RowError) -> int:
    return error.line if error.line is not None else error.index or 0


# What the database (or psycopg, encoding a parameter) says about a value it cannot take.
REFUSED_BY_DATABASE = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.errors.ProgramLimitExceeded,  # e.g. text too long for the full-text column
    db.DataError,
    db.IntegrityError,
    UnicodeEncodeError,
)


class _RolledBack(Exception):
    """Leaves an import's transaction so that nothing it wrote is kept."""


def _database_reason(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, db.Error) and exc.__cause__ else exc
    diag = getattr(cause, "diag", None)
    text = getattr(diag, "message_primary", None) or str(cause) or type(cause).__name__
    return text.splitlines()[0][:200]


def _write_isolating(
    report: ImportReport,
    items: Sequence[tuple[SourceRow, dict]],
    write: Callable[[list[dict]], None],
) -> list[RowError]:
    """Write ``items`` with ``write`` in one savepoint. Validation should have refused every
    value the database cannot take; should one slip through, the items are written again one
    at a time, each in its own savepoint, so the bad one is rejected by itself and the others
    land. Returns the refused items' errors; ``report``'s counts cover what was written."""
    counted = ("created", "updated", "unchanged", "shoppers_created")

    def attempt(values: list[dict]) -> BaseException | None:
        before = [getattr(report, name) for name in counted]
        try:
            with transaction.atomic():
                write(values)
        except REFUSED_BY_DATABASE as exc:
            for name, value in zip(counted, before, strict=True):
                setattr(report, name, value)
            return exc
        return None

    if attempt([clean for _, clean in items]) is None:
        return []
    refused = []
    for row, clean in items:
        exc = attempt([clean])
        if exc is not None:
            refused.append(row.error("", f"could not be stored: {_database_reason(exc)}"))
    return refused


def _reject_refused(report: ImportReport, refused: list[RowError], *, skip_invalid: bool) -> None:
    """Add rows the database refused to the report: with ``skip_invalid`` the rest was kept
    (partial); without, the import was rolled back (rejected, nothing written)."""
    report.errors = sorted([*report.errors, *refused], key=_error_order)
    report.rejected = len({(e.line, e.index) for e in report.errors})
    if skip_invalid:
        report.status = ImportRun.Status.PARTIAL
        return
    report.status = ImportRun.Status.REJECTED
    report.created = report.updated = report.unchanged = report.deactivated = 0
    report.shoppers_created = 0


@contextmanager
def bulk_cursor() -> Iterator[psycopg.Cursor]:
    """A plain psycopg cursor on Django's connection (so in the caller's transaction) with
    server-side parameter binding: a batch's JSON parameter is sent as is instead of being
    quoted into the SQL text by Django's client-side-binding cursor."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Products --------------------------------------------------------------------------------

_PRODUCT_COMPARED = (
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


def _category_lookup() -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
    """external_id -> (id, path) and external_id -> name, for every category (a small table)."""
    by_ext, names = {}, {}
    for pk, ext, name, path in Category.objects.values_list("id", "external_id", "name", "path"):
        by_ext[ext] = (pk, path)
        names[ext] = name
    return by_ext, names


def _products_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    full_sync: bool,
    progress: Progress,
) -> None:
    categories, category_names = _category_lookup()

    def unknown_category(clean: dict) -> list[tuple[str, str]]:
        ref = clean.get("category")
        return (
            [("category", f"unknown category {ref!r} (import categories first)")]
            if ref and ref not in categories
            else []
        )

    resolved, errors = _validate(rows, read_errors, formats.clean_product, unknown_category)
    if not _finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    file_ids = [
        r.data.get("external_id")
        for r in rows
        if isinstance(r.data.get("external_id"), str)
        and formats.unstorable_reason(r.data["external_id"]) is None  # matches no stored id
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
            for chunk in _chunks(resolved, WRITE_CHUNK):
                refused += _write_isolating(report, chunk, write)
                if progress:
                    progress(len(chunk), len(resolved))
            if refused and not skip_invalid:
                raise _RolledBack
            if full_sync:
                report.deactivated = _products_deactivate_absent(file_ids)
    except _RolledBack:
        pass
    if refused:
        _reject_refused(report, refused, skip_invalid=skip_invalid)


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
            "id", "external_id", "needs_embedding", "brand__name", *_PRODUCT_COMPARED
        )
    }
    path_by_id = dict(categories.values())
    inserts, updates = [], []
    for clean in chunk:
        old = existing.get(clean["external_id"])
        # A key the row does not carry keeps the stored value (new rows: the default).
        base = (
            formats.PRODUCT_DEFAULTS
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
            ),
        }
        if old is None:
            inserts.append(values)
            continue
        changed = [f for f in _PRODUCT_COMPARED if values[f] != old[f]]
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


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_json_param(value: Any) -> str:
    """Rows (or ids) as one JSON parameter for ``json_to_recordset`` /
    ``json_array_elements_text``: one string the server parses in C, instead of one array
    per column whose every element psycopg would adapt in Python."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


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


def products_refresh_search_text(
    *, category_ids: Iterable[int] | None = None, brand_ids: Iterable[int] | None = None
) -> int:
    """Rebuild ``search_text`` (and flag re-embedding) for products of these categories /
    brands whose names changed; returns how many products changed."""
    categories, names = _category_lookup()
    path_by_id = dict(categories.values())
    qs = Product.objects.all()
    if category_ids is not None:
        qs = qs.filter(category_id__in=list(category_ids))
    if brand_ids is not None:
        qs = qs.filter(brand_id__in=list(brand_ids))
    changed = []
    for pk, brand, category_id, attributes, old in qs.values_list(
        "id", "brand__name", "category_id", "attributes", "search_text"
    ).iterator(chunk_size=5000):
        text = product_search_text(
            brand=brand,
            attributes=attributes,
            category_names=category_path_names(path_by_id.get(category_id, ""), names),
        )
        if text != old:
            changed.append((pk, text))
    now = timezone.now()
    for chunk in _chunks(changed, WRITE_CHUNK):
        with bulk_cursor() as cursor:
            cursor.execute(
                f"UPDATE {Product._meta.db_table} AS p SET search_text = u.text, needs_embedding = TRUE, updated_at = %s"
                " FROM json_to_recordset(%s::json) AS u(id bigint, text text) WHERE p.id = u.id",
                [now, as_json_param([{"id": pk, "text": text} for pk, text in chunk])],
            )
    return len(changed)


def product_save(*, product: Product, changed_fields: Iterable[str], actor=None) -> Product:
    """Save a product edited by hand (admin): keep ``search_text`` current and flag
    re-embedding when its text changed; audited."""
    changed = set(changed_fields)
    categories, names = _category_lookup()
    path = dict(categories.values()).get(product.category_id, "")
    product.search_text = product_search_text(
        brand=product.brand.name if product.brand_id else None,
        attributes=product.attributes or {},
        category_names=category_path_names(path, names),
    )
    creating = product._state.adding
    if creating or changed & {"title", "description", "category", "brand", "attributes"}:
        product.needs_embedding = True
    product.save()
    audit_record(
        actor=actor,
        action="product.create" if creating else "product.change",
        obj=product,
        details={"changed": sorted(changed)},
    )
    return product


def categories_rebuild_paths() -> set[int]:
    """Recompute every category's ``path`` / ``depth`` from the parent links; refresh the
    products below the categories that moved. Returns the ids whose path changed."""
    rows = list(
        Category.objects.values("id", "external_id", "parent__external_id", "path", "depth")
    )
    paths, problems = category_paths({r["external_id"]: r["parent__external_id"] for r in rows})
    if problems:
        raise ValueError(f"The category tree is broken: {problems}")
    changed = [
        Category(pk=r["id"], path=paths[r["external_id"]], depth=paths[r["external_id"]].count("/"))
        for r in rows
        if r["path"] != paths[r["external_id"]]
    ]
    Category.objects.bulk_update(changed, ["path", "depth"], batch_size=1000)
    return {c.pk for c in changed}


def category_subtree_ids(category_id: int) -> list[int]:
    """The category and every category below it (a prefix match on the materialised path)."""
    path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
    if path is None:
        return []
    return list(
        Category.objects.filter(Q(path=path) | Q(path__startswith=f"{path}/")).values_list(
            "id", flat=True
        )
    )


@transaction.atomic
def category_save(*, category: Category, changed_fields: Iterable[str], actor=None) -> Category:
    """Save a category edited by hand; paths of it and its subtree and the products' text follow."""
    creating = category._state.adding
    if category.parent_id:
        ancestor = (
            Category.objects.filter(pk=category.parent_id).values_list("path", flat=True).first()
            or ""
        )
        if category.pk and category.external_id in ancestor.split("/"):
            raise ValueError("A category cannot be placed under itself or its own subtree.")
    category.save()
    moved = categories_rebuild_paths()
    if moved or "name" in set(changed_fields):
        products_refresh_search_text(category_ids=set(category_subtree_ids(category.pk)) | moved)
    category.refresh_from_db(fields=["path", "depth"])
    audit_record(
        actor=actor,
        action="category.create" if creating else "category.change",
        obj=category,
        details={"changed": sorted(changed_fields)},
    )
    return category


@transaction.atomic
def brand_save(*, brand: Brand, changed_fields: Iterable[str], actor=None) -> Brand:
    """Save a brand; a rename reaches its products' searchable text."""
    creating = brand._state.adding
    brand.save()
    if not creating and "name" in set(changed_fields):
        products_refresh_search_text(brand_ids=[brand.pk])
    audit_record(
        actor=actor,
        action="brand.create" if creating else "brand.change",
        obj=brand,
        details={"changed": sorted(changed_fields)},
    )
    return brand


# --- Categories ------------------------------------------------------------------------------


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


def _categories_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    progress: Progress,
) -> None:
    valid, errors = _validate(rows, read_errors, formats.clean_category)
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
    if not _finish_validation(
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
    valid, errors = _validate(rows, read_errors, formats.clean_shopper)
    if not _finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    with transaction.atomic():
        for chunk in _chunks(valid, WRITE_CHUNK):
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
                    values = {**formats.SHOPPER_DEFAULTS, **clean}
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


def _events_import(
    report: ImportReport,
    *,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
    require_event_id: bool,
    progress: Progress,
) -> None:
    errors = list(read_errors)
    valid: list[tuple[SourceRow, dict]] = []
    for row in rows:
        event, problems = formats.clean_event(row.data, require_event_id=require_event_id)
        if problems:
            errors.extend(row.error(f, r) for f, r in problems)
        else:
            valid.append((row, event))
    product_ids = _product_ids({e["product"] for _, e in valid if e["product"]})
    known: list[tuple[SourceRow, dict]] = []
    for row, event in valid:
        if event["product"] and event["product"] not in product_ids:
            errors.append(row.error("product", f"unknown product {event['product']!r}"))
        else:
            known.append((row, event))
    if not _finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    refused: list[RowError] = []
    # one batch (the API): insert and touch the shoppers in a single statement; a file: touch
    # the shoppers once, at the end, so their rows stay locked only for the last statement
    # and live API batches for them are not held up
    seen_by_shopper: dict[int, datetime] | None = None if len(known) <= EVENT_CHUNK else {}

    def write(events: list[dict]) -> None:
        accepted, created_shoppers = _events_write_chunk(
            events, product_ids=product_ids, seen_by_shopper=seen_by_shopper
        )
        report.created += accepted
        report.shoppers_created += created_shoppers

    try:
        with transaction.atomic():
            for chunk in _chunks(known, EVENT_CHUNK):
                refused += _write_isolating(report, chunk, write)
                if progress and seen_by_shopper is not None:
                    progress(len(chunk), len(known))
            if refused and not skip_invalid:
                raise _RolledBack
            if seen_by_shopper is not None:
                _shoppers_touch(seen_by_shopper)
            report.unchanged = len(known) - len(refused) - report.created
            events_stored.send(Event, shopper_external_ids=sorted({e["shopper"] for _, e in known}))
    except _RolledBack:
        pass
    if refused:
        _reject_refused(report, refused, skip_invalid=skip_invalid)


def _product_ids(external_ids: set[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    out: dict[str, int] = {}
    with bulk_cursor() as cursor:
        for chunk in _chunks(sorted(external_ids), 20000):
            cursor.execute(
                f"SELECT external_id, id FROM {Product._meta.db_table}"
                " WHERE external_id IN (SELECT json_array_elements_text(%s::json))",
                [as_json_param(list(chunk))],
            )
            out.update(cursor.fetchall())
    return out


def shopper_ids_ensure(external_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """external_id -> id for these shoppers, creating the unknown ones (safe when two requests
    create the same shopper at once). Returns the map and how many were created."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}, 0
    table = Shopper._meta.db_table
    with bulk_cursor() as cursor:
        cursor.execute(
            "WITH wanted AS (SELECT json_array_elements_text(%s::json) AS external_id),"
            f" ins AS (INSERT INTO {table} (external_id, segment, country, attributes, category_interests,"
            "   profile_version, created_at)"
            "   SELECT external_id, '', '', '{}'::jsonb, '{}'::jsonb, 0, %s FROM wanted"
            "   ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id)"
            " SELECT external_id, id, TRUE FROM ins"
            f" UNION ALL SELECT s.external_id, s.id, FALSE FROM {table} s JOIN wanted USING (external_id)",
            [as_json_param(wanted), timezone.now()],
        )
        rows = cursor.fetchall()
        ids = {ext: pk for ext, pk, _ in rows}
        created = sum(1 for *_, new in rows if new)
        missing = [ext for ext in wanted if ext not in ids]
        if missing:
            # created by a concurrent request that committed after this statement's snapshot
            cursor.execute(
                f"SELECT external_id, id FROM {table}"
                " WHERE external_id IN (SELECT json_array_elements_text(%s::json))",
                [as_json_param(missing)],
            )
            ids.update(cursor.fetchall())
    return ids, created


_EVENT_INSERT = (
    "INSERT INTO {events} (event_id, shopper_id, product_id, type, query, position, value, review,"
    " session, request_id, timestamp, received_at)"
    " SELECT u.event_id, u.shopper, u.product, u.type, u.query, u.position, u.value, u.review,"
    " u.session, u.request_id, u.timestamp, %s"
    " FROM json_to_recordset(%s::json) AS u(event_id text, shopper bigint, product bigint, type text,"
    " query text, position int, value float8, review text, session text, request_id text,"
    " timestamp timestamptz)"
    " ON CONFLICT (event_id) DO NOTHING RETURNING shopper_id, timestamp"
)
# The shoppers' rows are locked in id order before the UPDATE so concurrent batches never
# deadlock; NO KEY UPDATE (what an UPDATE of non-key columns takes anyway) leaves other
# requests' foreign-key checks unblocked.
_TOUCH = (
    "locked AS (SELECT s.id FROM {shoppers} s JOIN seen USING (id) ORDER BY s.id FOR NO KEY UPDATE OF s),"
    " touched AS (UPDATE {shoppers} AS s SET profile_version = s.profile_version + 1,"
    "  last_seen_at = GREATEST(s.last_seen_at, seen.seen)"
    "  FROM seen, locked WHERE s.id = seen.id AND locked.id = seen.id RETURNING s.id)"
)


def _events_write_chunk(
    events: Sequence[dict],
    *,
    product_ids: dict[str, int],
    seen_by_shopper: dict[int, datetime] | None = None,
) -> tuple[int, int]:
    """Insert a chunk with ON CONFLICT (event_id) DO NOTHING; returns (accepted, new shoppers).

    Without ``seen_by_shopper`` the same statement bumps the shoppers whose events were
    accepted; with it, their latest times are collected there for :func:`_shoppers_touch`.
    Rows go in event_id order so two concurrent requests carrying the same events wait on
    each other instead of deadlocking."""
    shopper_ids, created_shoppers = shopper_ids_ensure(e["shopper"] for e in events)
    rows = [
        {
            **e,
            "shopper": shopper_ids[e["shopper"]],
            "product": product_ids[e["product"]] if e["product"] else None,
        }
        for e in sorted(events, key=lambda e: e["event_id"])
    ]
    tables = {"events": Event._meta.db_table, "shoppers": Shopper._meta.db_table}
    inserted = f"WITH ins AS ({_EVENT_INSERT.format(**tables)}),"
    seen = " seen AS (SELECT shopper_id AS id, max(timestamp) AS seen, count(*) AS n FROM ins GROUP BY 1)"
    params = [timezone.now(), as_json_param(rows)]
    with bulk_cursor() as cursor:
        if seen_by_shopper is None:
            cursor.execute(
                f"{inserted}{seen}, {_TOUCH.format(**tables)}"
                " SELECT COALESCE(SUM(n), 0)::int, (SELECT count(*) FROM touched) FROM seen",
                params,
            )
            return cursor.fetchone()[0], created_shoppers
        cursor.execute(f"{inserted}{seen} SELECT id, seen, n FROM seen", params)
        accepted = 0
        for shopper_id, ts, n in cursor.fetchall():
            accepted += n
            if shopper_id not in seen_by_shopper or ts > seen_by_shopper[shopper_id]:
                seen_by_shopper[shopper_id] = ts
    return accepted, created_shoppers


def _shoppers_touch(seen_by_shopper: dict[int, datetime]) -> None:
    """New events change these shoppers' profiles: bump ``profile_version`` (the serving
    cache key) and move ``last_seen_at`` forward, in the caller's transaction."""
    if not seen_by_shopper:
        return
    rows = [{"id": pk, "seen": seen_by_shopper[pk]} for pk in sorted(seen_by_shopper)]
    with bulk_cursor() as cursor:
        cursor.execute(
            "WITH seen AS (SELECT * FROM json_to_recordset(%s::json) AS u(id bigint, seen timestamptz)), "
            + _TOUCH.format(shoppers=Shopper._meta.db_table)
            + " SELECT count(*) FROM touched",
            [as_json_param(rows)],
        )


# --- Export ----------------------------------------------------------------------------------


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
                writer = formats.RowWriter(handle, kind=kind, fmt=fmt)
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


def _subject_ref(external_id: str) -> str:
    """How the audit log names a forgotten shopper: a hash, so the log keeps no personal id."""
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()[:16]


def shopper_export(*, external_id: str, actor=None) -> dict[str, Any]:
    """Everything held about a shopper, as JSON-ready data (sections from every app)."""
    shopper = Shopper.objects.get(external_id=external_id)
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "shopper": {
            "external_id": shopper.external_id,
            "segment": shopper.segment,
            "country": shopper.country,
            "signup_date": shopper.signup_date.isoformat() if shopper.signup_date else None,
            "attributes": shopper.attributes,
            "category_interests": shopper.category_interests,
            "profile_version": shopper.profile_version,
            "created_at": shopper.created_at.isoformat(),
            "last_seen_at": shopper.last_seen_at.isoformat() if shopper.last_seen_at else None,
        },
        "events": [
            {
                **{
                    k: formats.json_value(v)
                    for k, v in row.items()
                    if k not in ("product__external_id",)
                },
                "product": row["product__external_id"],
            }
            for row in shopper.events.order_by("timestamp", "id").values(
                "event_id",
                "type",
                "product__external_id",
                "timestamp",
                "query",
                "position",
                "value",
                "review",
                "session",
                "request_id",
                "received_at",
            )
        ],
        "searches": [
            {k: formats.json_value(v) for k, v in row.items()}
            for row in shopper.searches.order_by("timestamp", "id").values(
                "query",
                "corrected_query",
                "session",
                "result_count",
                "intent",
                "filters",
                "shown_products",
                "request_id",
                "timestamp",
            )
        ],
    }
    for name, collect in privacy.EXPORT_SECTIONS:
        data[name] = collect(shopper)
    audit_record(
        actor=actor,
        action="shopper.export",
        object_type="catalog.shopper",
        object_id=_subject_ref(external_id),
        object_repr=_subject_ref(external_id),
        details={"sections": sorted(k for k in data if k != "exported_at")},
    )
    return data


@transaction.atomic
def shopper_forget(*, external_id: str, actor=None, mode: str | None = None) -> dict[str, int]:
    """Delete a shopper's personal data and events (``mode="delete"``), or keep their events
    under a fresh anonymous shopper with the free text and session ids cleared
    (``"anonymise"``). One transaction; other apps' rows through ``privacy.FORGET_HOOKS``.
    Returns counts per kind of row."""
    mode = mode or settings.SHOPPER_FORGET_MODE
    if mode not in ("delete", "anonymise"):
        raise ValueError(f"SHOPPER_FORGET_MODE must be delete or anonymise, not {mode!r}.")
    shopper = Shopper.objects.select_for_update().get(external_id=external_id)
    replacement = None
    if mode == "anonymise":
        replacement = Shopper.objects.create(external_id=f"anon-{uuid.uuid4().hex[:20]}")
    counts: dict[str, int] = {}
    context = privacy.ForgetContext(shopper=shopper, mode=mode, replacement=replacement)
    for hook in privacy.FORGET_HOOKS:
        for key, value in (hook(context) or {}).items():
            counts[key] = counts.get(key, 0) + value
    if replacement is None:
        # .delete() (not a raw DELETE): rows other apps keep about these events go with them
        counts["events"] = (
            Event.objects.filter(shopper=shopper).delete()[1].get(Event._meta.label, 0)
        )
        counts["searches"] = (
            SearchLog.objects.filter(shopper=shopper).delete()[1].get(SearchLog._meta.label, 0)
        )
    else:
        counts["events"] = Event.objects.filter(shopper=shopper).update(
            shopper=replacement, session="", review=""
        )
        counts["searches"] = SearchLog.objects.filter(shopper=shopper).update(
            shopper=replacement, session=""
        )
    shopper.delete()  # cascades to other apps' rows keyed by the shopper (profiles, ...)
    counts["shoppers"] = 1
    audit_record(
        actor=actor,
        action="shopper.forget",
        object_type="catalog.shopper",
        object_id=_subject_ref(external_id),
        object_repr=_subject_ref(external_id),
        details={"mode": mode, "counts": counts},
    )
    return counts


# --- Demo store ------------------------------------------------------------------------------

CATALOG_TABLES = (Event, SearchLog, Product, Shopper, Category, Brand)


@dataclass
class DemoStoreResult:
    counts: dict[str, int]
    truth_files: dict[str, Path]
    seconds: dict[str, float]

    def summary(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return f"Demo store: {counts}. Time: {steps}."


def catalog_is_empty() -> bool:
    return not Product.objects.exists()


def catalog_truncate() -> None:
    """Remove every product, category, brand, shopper, event and search log — and, through
    CASCADE, other apps' rows that reference them (embeddings, profiles, exposures)."""
    tables = ", ".join(m._meta.db_table for m in CATALOG_TABLES)
    with connection.cursor() as cursor:
        # run pending deferred foreign-key checks first: TRUNCATE refuses tables that have them
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def demo_store_build(
    *,
    products: int = 5000,
    shoppers: int = 2000,
    days: int = 60,
    seed: int = 42,
    truth_dir: str | Path | None = None,
    replace: bool = False,
    end: datetime | None = None,
    log: Callable[[str], None] | None = None,
) -> DemoStoreResult:
    """Generate the demo store (``catalog.demo``) and bulk-write it with COPY, then write its
    hidden truth under ``truth_dir`` (default ``DATA_DIR/demo``). ``replace`` empties the
    catalog first; otherwise the catalog must be empty."""
    from catalog.demo import generate_store, write_truth  # numpy: only the commands that build it

    log = log or (lambda _msg: None)
    seconds: dict[str, float] = {}
    started = time.monotonic()
    store = generate_store(products=products, shoppers=shoppers, days=days, seed=seed, end=end)
    seconds["generate"] = time.monotonic() - started
    log(
        f"generated {len(store.products)} products, {len(store.shoppers)} shoppers, "
        f"{len(store.events)} events in {seconds['generate']:.1f} s"
    )
    step = time.monotonic()
    with transaction.atomic():
        if replace:
            catalog_truncate()
        elif not catalog_is_empty():
            raise ValueError("The catalog is not empty; pass replace=True (--force) to replace it.")
        counts = _demo_store_write(store)
    seconds["write"] = time.monotonic() - step
    with connection.cursor() as cursor:  # fresh statistics: plans and the admin's row estimates
        for model in CATALOG_TABLES:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    step = time.monotonic()
    truth_dir = Path(truth_dir) if truth_dir else Path(settings.DATA_DIR) / "demo"
    truth_files = write_truth(store, truth_dir)
    seconds["truth"] = time.monotonic() - step
    seconds["total"] = time.monotonic() - started
    return DemoStoreResult(counts=counts, truth_files=truth_files, seconds=seconds)


def _demo_store_write(store) -> dict[str, int]:
    now = timezone.now()
    parents = {c["external_id"]: (c["parent"] or None) for c in store.categories}
    paths, problems = category_paths(parents)
    if problems:
        raise ValueError(f"The demo category tree is broken: {problems}")
    names = {c["external_id"]: c["name"] for c in store.categories}
    created = Category.objects.bulk_create(
        [
            Category(external_id=ext, name=names[ext], path=paths[ext], depth=paths[ext].count("/"))
            for ext in parents
        ]
    )
    category_ids = {c.external_id: c.pk for c in created}
    Category.objects.bulk_update(
        [
            Category(pk=category_ids[ext], parent_id=category_ids[p])
            for ext, p in parents.items()
            if p
        ],
        ["parent"],
        batch_size=1000,
    )
    # only the brands products carry: a brand is known through its products (and exports that way)
    brand_names = sorted({p["brand"] for p in store.products if p.get("brand")})
    brand_ids = {
        b.name: b.pk for b in Brand.objects.bulk_create([Brand(name=n) for n in brand_names])
    }

    def product_rows():
        for p in store.products:
            category = p.get("category") or None
            attributes = p.get("attributes") or {}
            text = product_search_text(
                brand=p.get("brand"),
                attributes=attributes,
                category_names=category_path_names(paths.get(category, ""), names),
            )
            yield (
                p["external_id"],
                p["title"],
                p.get("description", ""),
                category_ids.get(category),
                brand_ids.get(p.get("brand")),
                p["price"],
                p.get("currency") or "EUR",
                int(p.get("stock") or 0),
                p.get("image_url", ""),
                json.dumps(attributes, ensure_ascii=False),
                bool(p.get("active", True)),
                text,
                True,
                now,
                now,
            )

    _copy_rows(
        Product._meta.db_table,
        (
            "external_id",
            *_PRODUCT_COMPARED,
            "needs_embedding",
            "created_at",
            "updated_at",
        ),
        product_rows(),
    )
    _copy_rows(
        Shopper._meta.db_table,
        (
            "external_id",
            "segment",
            "country",
            "signup_date",
            "attributes",
            "category_interests",
            "profile_version",
            "created_at",
        ),
        (
            (
                s["external_id"],
                s.get("segment", ""),
                s.get("country", ""),
                s.get("signup_date") or None,
                "{}",
                "{}",
                0,
                now,
            )
            for s in store.shoppers
        ),
    )
    product_ids = dict(Product.objects.values_list("external_id", "id"))
    shopper_ids = dict(Shopper.objects.values_list("external_id", "id"))
    _copy_rows(
        Event._meta.db_table,
        (
            "event_id",
            "shopper_id",
            "product_id",
            "type",
            "query",
            "position",
            "value",
            "review",
            "session",
            "request_id",
            "timestamp",
            "received_at",
        ),
        (
            (
                e["event_id"],
                shopper_ids[e["shopper"]],
                product_ids[e["product"]] if e.get("product") else None,
                e["type"],
                e.get("query") or "",
                e.get("position"),
                e.get("value"),
                e.get("review") or "",
                e.get("session") or "",
                e.get("request_id") or "",
                e["timestamp"],
                now,
            )
            for e in store.events
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Shopper._meta.db_table} AS s SET last_seen_at = m.seen, profile_version = s.profile_version + 1"
            f" FROM (SELECT shopper_id, max(timestamp) AS seen FROM {Event._meta.db_table} GROUP BY shopper_id) AS m"
            " WHERE s.id = m.shopper_id"
        )
    return {
        "categories": len(created),
        "brands": len(brand_ids),
        "products": len(store.products),
        "shoppers": len(store.shoppers),
        "events": len(store.events),
    }
