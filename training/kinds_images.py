"""The job kind of search by image (``catalog.images``): ``embed_images`` trains (or loads) an
image encoder and writes a vector per product picture under a new ``image`` version."""

from __future__ import annotations

from training.activation import VersionPolicy
from training.jobs import Param, register_job_kind
from training.kinds import DEVICE

register_job_kind(
    "embed_images",
    title="Embed product images",
    summary="Trains the in-platform image encoder on the store's pictures and titles (or loads "
    "the configured CLIP-style model) and writes a vector per product picture, with its own "
    "index, for search by image.",
    scales_with="products",
    queue="cpu",
    runner="training.runners.embed_images.run",
    help="With no AISLE_IMAGE_ENCODER configured: a small CNN image tower (which also reads the Hu moments of the object's silhouette, a shape descriptor that pose does not change) is trained on the "
    "products' main pictures against the frozen title vectors of the active retriever (a "
    "contrastive picture↔title term), against its category's centroid of title vectors (the "
    "category term: what the product is, beyond its own title's words) and, lighter, against "
    "another augmented view of the same picture (rotation, scale, shift, flip, light, noise), so "
    "that another photograph of a product lands next to its look-alikes. A held-out share of the "
    "products measures it: each held-out picture, re-photographed by the augmentation, queries "
    "the whole catalogue (view recall@10: its own product in the top 10; category precision@10, "
    "its own product left out), beside the colour-histogram baseline and text-only similarity "
    "(the product's own title vector) on the same held-out products. With AISLE_IMAGE_ENCODER set to a Hugging Face CLIP-style id or path, that model "
    "encodes the pictures (fp16 on a GPU) and nothing is trained. Either way a new 'image' "
    "version holds the vectors with its own HNSW index; the activation policy decides what "
    "serves.",
    params=[
        DEVICE,
        Param(
            "epochs", int, 12, "training epochs over the pictures", min=1, max=500, label="Epochs"
        ),
        Param("batch_size", int, 128, "pictures per step", min=4, max=4096, label="Batch"),
        Param("lr", float, 0.002, "peak learning rate", min=1e-6, max=1.0, label="Learning rate"),
        Param(
            "view_weight",
            float,
            0.3,
            "weight of the two-views term (another photograph of the same picture)",
            min=0.0,
            max=10.0,
            label="View term",
        ),
        Param(
            "category_weight",
            float,
            1.0,
            "weight of the category term (a picture against its category's centroid of title "
            "vectors); 0 turns it off",
            min=0.0,
            max=10.0,
            label="Category term",
        ),
        Param(
            "holdout",
            float,
            0.2,
            "share of the products held out of training to measure the encoder",
            min=0.0,
            max=0.9,
            label="Held-out share",
        ),
        Param(
            "size",
            int,
            64,
            "pictures are read at this many pixels a side",
            min=16,
            max=512,
            label="Pixels",
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        Param("seed", int, 42, "training seed (recorded with the version)", label="Seed"),
    ],
    versions=VersionPolicy(metric="view_recall@10"),
)
