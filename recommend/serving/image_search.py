"""Search by image and visually similar products: the request path (issue 17 §2).

A query picture is encoded in the web process by the active ``image`` version (the in-platform
tower from its artifact, loaded once per process and version; a CLIP-style model by its id),
its nearest product pictures come from the version's HNSW index with the request's filters in
SQL, and the result carries facets and a per-item explanation (the ``image`` retriever's rank
and cosine) like text search."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from django.conf import settings

from catalog.images import vectors as image_vectors
from recommend import selectors
from recommend.engine.explain import ItemEvidence
from recommend.engine.facets import compute_facets
from recommend.serving.context import ServingContext
from recommend.serving.filters import ProductFilters
from recommend.serving.payload import item_payload
from recommend.serving.recs import UnknownProduct
from recommend.serving.retrievers import filter_sql, product_ids_for_external, product_rows
from training import selectors as training_selectors
from training.models import ModelVersion, Task

CANDIDATES = 100
FACET_TOP = 10
_encoders: dict[int, Any] = {}
_lock = threading.Lock()


class NoImageEncoder(LookupError):
    """No ``image`` version is active: nothing can be searched by image yet (the endpoints
    answer an empty list then; the admin page says so)."""


def active_image_version() -> ModelVersion:
    version = training_selectors.active_version(Task.IMAGE)
    if version is None or not version.dimension:
        raise NoImageEncoder("no image encoder is active: run the embed_images job")
    return version


def _encoder(version: ModelVersion):
    """(encode(array) -> vector, pixel size), loaded once per process and version."""
    with _lock:
        cached = _encoders.get(version.pk)
        if cached is not None:
            return cached
        from training.ml import image_encoder

        if version.hyperparameters.get("encoder") == "clip":
            model, processor = image_encoder.load_clip(version.base)

            def encode(pixels: np.ndarray) -> np.ndarray:
                return image_encoder.encode_images_clip(model, processor, pixels[None])[0]

            cached = (encode, int(version.hyperparameters.get("size", 224)))
        else:
            model, config = image_encoder.load_tower(settings.ARTIFACTS_DIR / version.artifact_dir)

            def encode(pixels: np.ndarray) -> np.ndarray:
                return image_encoder.encode_images(model, pixels[None])[0]

            cached = (encode, config.size)
        _encoders[version.pk] = cached
        return cached


def query_vector(image, version: ModelVersion) -> np.ndarray:
    """The query picture (a decoded Pillow image) as a vector under ``version``."""
    from catalog.images.logic.pixels import image_array

    encode, size = _encoder(version)
    return encode(image_array(image, size))


def _results(
    ctx: ServingContext,
    version: ModelVersion,
    vector,
    filters: ProductFilters,
    *,
    page: int,
    size: int,
    exclude: int | None = None,
    personalisation: str | None = None,
) -> dict[str, Any]:
    engine_filters = filters.engine()  # raises UnknownCategory
    where, params = filter_sql(engine_filters, "p") if engine_filters else ("", [])
    excluded = filters.excluded()
    with ctx.stage("image"):
        pairs = image_vectors.nearest_products(
            version.pk,
            version.dimension,
            vector,
            limit=CANDIDATES + len(excluded),
            where_sql=where,
            where_params=params,
            exclude_product=exclude,
        )
    pairs = [(pk, sim) for pk, sim in pairs if pk not in excluded][:CANDIDATES]
    rows = product_rows([pk for pk, _ in pairs], engine_filters)
    pairs = [(pk, sim) for pk, sim in pairs if pk in rows]
    tree = selectors.category_tree()
    with ctx.stage("facets"):
        names = {c.external_id: c.name for c in tree.by_id.values()}
        facet_rows = []
        for pk, _ in pairs:
            row = rows[pk]
            category = tree.by_id.get(row.category_id) if row.category_id else None
            facet_rows.append((category.external_id if category else None, row.brand, row.price))
        facets = compute_facets(facet_rows, category_names=names, top_n=FACET_TOP)
    start = (page - 1) * size
    results = [
        item_payload(
            rows[pk],
            tree,
            sim,
            ItemEvidence(
                id=pk, sources={"image": (start + rank + 1, sim)}, personalisation=personalisation
            ),
        )
        for rank, (pk, sim) in enumerate(pairs[start : start + size])
    ]
    return {
        "total": len(pairs),
        "results": results,
        "facets": facets,
        "image_model": {"version": version.pk, "name": version.name},
    }


def _nothing(ctx: ServingContext, why: str) -> dict[str, Any]:
    """An empty answer that says why (Server-Timing note): serving never fails for want of a
    model, as text search falls back to lexical without a retriever."""
    filters_facets = compute_facets([])
    ctx.notes["image"] = why
    return {"total": 0, "results": [], "facets": filters_facets, "image_model": None}


def search_by_image(
    image, ctx: ServingContext, filters: ProductFilters, *, page: int = 1, size: int = 10
) -> dict[str, Any]:
    """Products whose pictures look most like ``image`` (a decoded Pillow image)."""
    started = time.perf_counter()
    try:
        version = active_image_version()
    except NoImageEncoder:
        return _nothing(ctx, "no image encoder is active")
    with ctx.stage("encode"):
        vector = query_vector(image, version)
    body = _results(ctx, version, vector, filters, page=page, size=size)
    ctx.timings["total"] = (time.perf_counter() - started) * 1000
    return body


def visually_similar(
    external_id: str, ctx: ServingContext, filters: ProductFilters, *, size: int = 10
) -> dict[str, Any]:
    """Products whose pictures look most like this product's main picture."""
    started = time.perf_counter()
    pk = product_ids_for_external([external_id]).get(external_id)
    if pk is None:
        raise UnknownProduct(external_id)
    try:
        version = active_image_version()
    except NoImageEncoder:
        return _nothing(ctx, "no image encoder is active")
    vector = image_vectors.product_image_vector(version.pk, pk)
    if vector is None:
        return _nothing(ctx, "the product has no picture vector")
    body = _results(
        ctx,
        version,
        vector,
        filters,
        page=1,
        size=size,
        exclude=pk,
        personalisation="looks like the product you are viewing",
    )
    ctx.timings["total"] = (time.perf_counter() - started) * 1000
    return body
