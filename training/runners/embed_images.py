"""``embed_images``: an image encoder (trained in-platform, or a configured CLIP-style model)
and a vector per product picture under a new ``image`` version (issue 17 §2)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from catalog.images import selectors as image_selectors
from catalog.images import vectors as image_vectors
from catalog.images.logic.pixels import bytes_array
from training import selectors
from training.context import JobContext
from training.models import Task

TOWER_BASE = "aisle:image-tower"


def _read_pictures(ctx: JobContext, size: int):
    rows = image_selectors.main_images()
    if len(rows) < 4:
        raise ValidationError(
            f"Only {len(rows)} active products have a picture: import or upload pictures first "
            "(Catalog → Product images), at least 4."
        )
    arrays = []
    for number, row in enumerate(rows):
        if number % 200 == 0:
            ctx.check_cancel()
            ctx.progress(number / len(rows), number, len(rows), None, {})
        arrays.append(bytes_array(image_selectors.read_image_bytes(row.path), size))
    return rows, np.stack(arrays)


def _holdout(rows, share: float, seed: int) -> np.ndarray:
    """A stable held-out mask: a product is held out by a hash of (seed, its external id), so the
    same catalogue holds out the same products whatever database ids an import gave them."""
    cut = int(share * 10_000)
    return np.array(
        [
            int(hashlib.sha256(f"{seed}:{r.external_id}".encode()).hexdigest()[:8], 16) % 10_000
            < cut
            for r in rows
        ]
    )


def _title_vectors(ctx: JobContext, rows, device) -> tuple[np.ndarray, int | None]:
    from training.ml.encoders import encode_texts
    from training.runners.embed import load_version_encoder

    version = selectors.active_version(Task.RETRIEVER)
    if version is not None:
        encoder = load_version_encoder(version, device)
        ctx.log(f"title vectors from the active retriever #{version.pk}")
    else:
        from training.ml.encoders import load_encoder

        encoder = load_encoder(None, base=settings.DEFAULT_ENCODER, device=device)
        ctx.log(f"no active retriever: title vectors from {settings.DEFAULT_ENCODER}")
    texts = [r.title for r in rows]
    return encode_texts(encoder, texts, should_cancel=ctx.should_cancel), (
        version.pk if version else None
    )


def _evaluate(model, images, rows, held, seed, titles) -> dict[str, Any]:
    """Held-out pictures, photographed again by the augmentation, query every picture; beside
    them, on the same held-out products, the colour histogram of the same query pictures and
    the products' own title vectors (text-only similarity, which never looks at a picture)."""
    import torch

    from training.ml.image_encoder import (
        augment,
        colour_histograms,
        encode_images,
        precision_at_k,
        to_tensor,
    )

    positions = np.flatnonzero(held)
    if not len(positions):
        return {"sane": True, "sanity": "no held-out products: not measured"}
    generator = torch.Generator().manual_seed(seed + 1)
    views = augment(to_tensor(images[positions]), generator)
    query_pixels = ((views.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().clip(0, 255)
    query_pixels = query_pixels.astype(np.uint8)
    index = encode_images(model, images)
    queries = encode_images(model, query_pixels)
    ids = list(range(len(rows)))
    categories = [r.category_id for r in rows]
    own = [ids[p] for p in positions]
    view_recall = precision_at_k(queries, index, own, ids, k=10) * 10  # one right answer
    hist_index, hist_queries = colour_histograms(images), colour_histograms(query_pixels)
    wanted = [categories[p] for p in positions]
    others = list(positions)  # the query's own product is left out of category precision

    def category_precision(query_vectors, index_vectors) -> float:
        return round(
            precision_at_k(query_vectors, index_vectors, wanted, categories, exclude=others), 4
        )

    metrics = {
        "view_recall@10": round(view_recall, 4),
        "category_precision@10": category_precision(queries, index),
        "baseline_colour_histogram": {
            "view_recall@10": round(
                precision_at_k(hist_queries, hist_index, own, ids, k=10) * 10, 4
            ),
            "category_precision@10": category_precision(hist_queries, hist_index),
        },
        "baseline_text_only": {
            "category_precision@10": category_precision(titles[positions], titles)
        },
        "heldout_products": int(len(positions)),
    }
    chance = min(1.0, 10 / len(rows))
    metrics["sane"] = bool(view_recall > chance)
    metrics["sanity"] = (
        f"view recall@10 {view_recall:.3f} vs chance {chance:.3f} over {len(positions)} held-out "
        "products"
    )
    return metrics


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device, reset_peak
    from training.ml.image_encoder import (
        ImageTowerConfig,
        encode_images,
        encode_images_clip,
        load_clip,
        save_tower,
        train_image_tower,
    )

    params = ctx.params
    device = pick_device(params["device"])
    ctx.set_device(device)
    reset_peak(device)
    size = params["size"]
    with ctx.stage("read pictures", 0.0, 0.1):
        rows, images = _read_pictures(ctx, size)
    ctx.log(f"{len(rows)} products with a picture, read at {size} px")
    clip_id = settings.IMAGE_ENCODER
    metrics: dict[str, Any] = {"products": len(rows), "size": size}
    if clip_id:
        with ctx.stage("encode with the configured model", 0.1, 0.85):
            model, processor = load_clip(clip_id, device=device.device)
            vectors = encode_images_clip(model, processor, images)
        version = ctx.create_version(
            task=Task.IMAGE,
            name=params["name"] or f"image encoder {clip_id}",
            base=clip_id,
            dimension=int(vectors.shape[1]),
            hyperparameters={"encoder": "clip", "size": size},
        )
        metrics["encoder"] = clip_id
    else:
        held = _holdout(rows, params["holdout"], params["seed"])
        with ctx.stage("title vectors", 0.1, 0.2):
            titles, text_version = _title_vectors(ctx, rows, device)
        config = ImageTowerConfig(
            size=size,
            dim=int(titles.shape[1]),
            epochs=params["epochs"],
            batch_size=params["batch_size"],
            lr=params["lr"],
            view_weight=params["view_weight"],
            group_weight=params["category_weight"],
            seed=params["seed"],
        )
        # the category is the group of the category term; a product without one is a group
        # of its own (it then only learns from its title and its views)
        groups = np.array(
            [f"c{r.category_id}" if r.category_id else f"p{r.product_id}" for r in rows]
        )
        train = ~held if held.sum() < len(rows) - 1 else np.ones(len(rows), dtype=bool)
        with ctx.stage("train the image tower", 0.2, 0.8):
            model, figures = train_image_tower(
                images[train],
                titles[train],
                config,
                groups=groups[train],
                device=device.device,
                dtype=device.dtype,
                progress_cb=ctx.progress,
                should_cancel=ctx.should_cancel,
            )
        ctx.check_cancel()
        with ctx.stage("measure on held-out products", 0.8, 0.85):
            metrics.update(_evaluate(model, images, rows, held, params["seed"], titles))
        metrics.update(
            {
                "train_s": figures["train_s"],
                "pairs_per_s": figures["pairs_per_s"],
                "loss_per_epoch": figures["loss_per_epoch"],
                "split": f"hash holdout {params['holdout']} seed {params['seed']}",
            }
        )
        version = ctx.create_version(
            task=Task.IMAGE,
            name=params["name"] or f"image tower {len(rows)} pictures",
            base=TOWER_BASE,
            dimension=int(titles.shape[1]),
            hyperparameters={
                "encoder": "tower",
                "text_version": text_version,
                **config.as_dict(),
            },
            dataset_snapshot={"products": len(rows), "heldout": int(held.sum())},
        )
        save_tower(model, config, ctx.artifact_path(version))
        vectors = encode_images(model, images)
    ctx.check_cancel()
    with ctx.stage("write vectors and index", 0.85, 1.0):
        written = image_vectors.write_image_vectors(
            version.pk, [r.product_id for r in rows], vectors, [r.sha256 for r in rows]
        )
        metrics["index_s"] = round(
            image_vectors.ensure_image_index(version.pk, version.dimension), 3
        )
    metrics["vectors"] = written
    ctx.log(f"wrote {written} image vectors under version #{version.pk}")
    ctx.finish(version, metrics)
