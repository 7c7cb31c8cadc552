"""``embed_catalog``: product vectors for one retriever version, or incremental for all served ones."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from catalog.knowledge.selectors import missing_passage_vector_count
from catalog.models import Product
from training import knowledge_vectors, selectors, vectors
from training.context import JobContext
from training.models import ModelVersion, Task


def load_version_encoder(version: ModelVersion, device: Any):
    """The SentenceTransformer of a retriever version (its artifact, or its base when it has none)."""
    from django.conf import settings

    from training.ml.encoders import load_encoder

    artifact = settings.ARTIFACTS_DIR / version.artifact_dir if version.artifact_dir else None
    return load_encoder(artifact, base=version.base or settings.DEFAULT_ENCODER, device=device)


def embed_version(
    ctx: JobContext | None,
    version: ModelVersion,
    *,
    items: vectors.ProductTexts,
    batch_size: int,
    device: Any,
    build_index: bool,
    progress_cb=None,
    should_cancel=None,
    drop_index_first: bool = False,
) -> dict[str, Any]:
    """Encode ``items`` with ``version``, upsert, (re)build its index; returns figures."""
    model = load_version_encoder(version, device)
    dimension = _dimension(model)
    if version.dimension != dimension:
        version.dimension = dimension
        version.save(update_fields=["dimension"])
    if drop_index_first:
        # Writing a whole catalogue into a live HNSW index costs an insert per row; rebuilding is faster.
        vectors.drop_hnsw_index(version.pk)
    stats = vectors.embed_and_write(
        model,
        version.pk,
        items,
        batch_size=batch_size,
        progress_cb=progress_cb,
        should_cancel=should_cancel,
    )
    figures = stats.as_dict()
    # The knowledge base's passages under the same version: a retriever is promoted only
    # when they exist (training.services), and they are few next to the products.
    figures.update(knowledge_vectors.embed_passages(model, version.pk, should_cancel=should_cancel))
    if build_index and (stats.written or not vectors.hnsw_index_exists(version.pk)):
        if ctx is not None:
            ctx.message(f"building HNSW index of version #{version.pk}")
        figures["index_s"] = round(vectors.ensure_hnsw_index(version.pk, dimension), 3)
    return figures


def _dimension(model) -> int:
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device, reset_peak

    params = ctx.params
    device = pick_device(params["device"])
    ctx.set_device(device)
    reset_peak(device)
    if params["incremental"]:
        _incremental(ctx, device)
        return

    if params["version"]:
        version = ModelVersion.objects.filter(pk=params["version"]).first()
        if version is None or version.task != Task.RETRIEVER:
            raise ValidationError(f"Retriever version #{params['version']} does not exist.")
    else:
        version = selectors.active_version(Task.RETRIEVER)
        if version is None:
            raise ValidationError("No retriever version is active; pass --param version=ID.")
    if version.vector_space_id:  # a quantised child: its parent's vectors are the ones served
        ctx.log(f"version #{version.pk} serves in the vector space of #{version.vector_space_id}")
        version = version.vector_space
    with ctx.stage("read product texts", 0.0, 0.03):
        items = vectors.active_product_texts()
    ctx.log(f"{len(items)} active products to embed with retriever version #{version.pk}")
    with ctx.stage("encode and write", 0.03, 0.9):
        figures = embed_version(
            ctx,
            version,
            items=items,
            batch_size=params["batch_size"],
            device=device,
            build_index=False,
            progress_cb=ctx.progress,
            should_cancel=ctx.should_cancel,
            drop_index_first=True,
        )
    ctx.check_cancel()
    if params["build_index"]:
        with ctx.stage("build index", 0.9, 1.0):
            figures["index_s"] = round(vectors.ensure_hnsw_index(version.pk, version.dimension), 3)
    if version.is_active or version.pk in selectors.pinned_version_ids(Task.RETRIEVER):
        vectors.clear_needs_embedding(dict(zip(items.ids, items.hashes, strict=True)))
    ctx.log(
        f"embedded {figures['products']} products at {figures['products_per_s']}/s "
        f"(encode {figures['encode_s']} s, write {figures['write_s']} s, index {figures.get('index_s', '-')} s)"
    )
    ctx.finish(version, {"version": version.pk, **figures})


def _incremental(ctx: JobContext, device) -> None:
    versions = selectors.served_retriever_versions()
    if not versions:
        ctx.log("no retriever version is active or pinned: nothing to keep current")
        ctx.finish(None, {"versions": [], "products": 0})
        return
    with ctx.stage("read product texts", 0.0, 0.05):
        items = vectors.active_product_texts()
    per_version: dict[str, Any] = {}
    share = 0.95 / len(versions)
    for number, version in enumerate(versions):
        ctx.check_cancel()
        start = 0.05 + number * share
        with ctx.stage(f"version #{version.pk}", start, start + share):
            stale = vectors.stale_positions(items, version.pk)
            todo = items.subset(stale)
            ctx.log(
                f"version #{version.pk}: {len(todo)} of {len(items)} products changed or missing"
            )
            if len(todo):
                figures = embed_version(
                    ctx,
                    version,
                    items=todo,
                    batch_size=ctx.params["batch_size"],
                    device=device,
                    build_index=ctx.params["build_index"],
                    progress_cb=ctx.progress,
                    should_cancel=ctx.should_cancel,
                )
            else:
                figures = {"products": 0}
                if (
                    ctx.params["build_index"]
                    and not vectors.hnsw_index_exists(version.pk)
                    and version.dimension
                ):
                    figures["index_s"] = round(
                        vectors.ensure_hnsw_index(version.pk, version.dimension), 3
                    )
                if missing_passage_vector_count(version.pk):  # the knowledge base changed
                    figures.update(
                        knowledge_vectors.embed_passages(
                            load_version_encoder(version, device),
                            version.pk,
                            should_cancel=ctx.should_cancel,
                        )
                    )
            per_version[str(version.pk)] = figures
    # Every served version now holds a current vector for every active product.
    cleared = vectors.clear_needs_embedding(dict(zip(items.ids, items.hashes, strict=True)))
    Product.objects.filter(active=False, needs_embedding=True).update(needs_embedding=False)
    metrics = {
        "versions": [v.pk for v in versions],
        "per_version": per_version,
        "products": sum(f.get("products", 0) for f in per_version.values()),
        "flags_cleared": cleared,
    }
    ctx.finish(versions[0], metrics)
