"""Edits by hand (the admin): save a product, category or brand and keep the products'
searchable text (and their need of re-embedding) current."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Brand, Category, Product
from catalog.search_text import category_path_names, product_search_text
from catalog.selectors import category_lookup, category_paths, category_subtree_ids
from catalog.services.rows import WRITE_CHUNK
from catalog.sql import as_json_param, bulk_cursor, chunks
from platform_core.services import audit_record


def products_refresh_search_text(
    *,
    category_ids: Iterable[int] | None = None,
    brand_ids: Iterable[int] | None = None,
    reembed: bool = True,
) -> int:
    """Rebuild ``search_text`` (and flag re-embedding unless ``reembed`` is off) for products
    of these categories / brands whose names changed, or of every product when neither is
    given (``manage.py reindex_search_text``, after a change of ``CATALOG_LANGUAGE``); returns
    how many products changed."""
    categories, names = category_lookup()
    path_by_id = dict(categories.values())
    qs = Product.objects.all()
    if category_ids is not None:
        qs = qs.filter(category_id__in=list(category_ids))
    if brand_ids is not None:
        qs = qs.filter(brand_id__in=list(brand_ids))
    changed = []
    for pk, brand, category_id, attributes, title, description, old in qs.values_list(
        "id", "brand__name", "category_id", "attributes", "title", "description", "search_text"
    ).iterator(chunk_size=5000):
        text = product_search_text(
            brand=brand,
            attributes=attributes,
            category_names=category_path_names(path_by_id.get(category_id, ""), names),
            title=title,
            description=description,
            language=settings.CATALOG_LANGUAGE,
        )
        if text != old:
            changed.append((pk, text))
    now = timezone.now()
    for chunk in chunks(changed, WRITE_CHUNK):
        with bulk_cursor() as cursor:
            cursor.execute(
                f"UPDATE {Product._meta.db_table} AS p SET search_text = u.text,"
                f" needs_embedding = needs_embedding OR {bool(reembed)}, updated_at = %s"
                " FROM json_to_recordset(%s::json) AS u(id bigint, text text) WHERE p.id = u.id",
                [now, as_json_param([{"id": pk, "text": text} for pk, text in chunk])],
            )
    return len(changed)


def product_save(*, product: Product, changed_fields: Iterable[str], actor=None) -> Product:
    """Save a product edited by hand (admin): keep ``search_text`` current and flag
    re-embedding when its text changed; audited."""
    changed = set(changed_fields)
    categories, names = category_lookup()
    path = dict(categories.values()).get(product.category_id, "")
    product.search_text = product_search_text(
        brand=product.brand.name if product.brand_id else None,
        attributes=product.attributes or {},
        category_names=category_path_names(path, names),
        title=product.title,
        description=product.description,
        language=settings.CATALOG_LANGUAGE,
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
