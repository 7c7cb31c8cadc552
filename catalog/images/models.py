"""Product pictures (files in Django storage, checked and stripped on the way in) and their
vectors under an image-encoder version, each version with its own partial HNSW index."""

from __future__ import annotations

from django.db import models
from pgvector.django import VectorField


class ProductImage(models.Model):
    """One picture of a product: the file (under MEDIA_ROOT, or any Django storage), its
    SHA-256 and size. Every file was decoded by Pillow, re-encoded without EXIF and held to
    the size and pixel limits (``catalog.images.logic.checks``) before it was stored."""

    class Source(models.TextChoices):
        IMPORT = "import", "imported (folder or archive)"
        UPLOAD = "upload", "uploaded in the admin"
        URL = "url", "fetched from an allowed host"
        DEMO = "demo", "rendered by the demo store"

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to="products/%Y/%m/", max_length=300)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8, help_text="PNG, JPEG, WEBP or GIF (decoded).")
    bytes = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(
        default=0, help_text="0 is the product's main picture, the one search by image uses."
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.UPLOAD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "position", "pk"]
        verbose_name = "product image"
        constraints = [
            models.UniqueConstraint(fields=["product", "sha256"], name="images_product_sha_unique")
        ]

    def __str__(self) -> str:
        return f"image {self.position} of product {self.product_id}"


class ImageEmbedding(models.Model):
    """A product's main picture as a vector under one image-encoder version (task ``image``).
    Each version gets its own partial HNSW index (``catalog.images.vectors``)."""

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="image_embeddings"
    )
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="image_embeddings"
    )
    vector = VectorField()
    image_sha256 = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "image vector"
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product"], name="images_embedding_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"image of product {self.product_id} under version {self.model_version_id}"
