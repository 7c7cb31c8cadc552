"""Reads of product pictures and image vectors."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.images.models import ImageEmbedding, ProductImage


@dataclass(frozen=True)
class MainImage:
    """A product's main picture (position 0, else its lowest position)."""

    product_id: int
    image_id: int
    sha256: str
    path: str  # the storage name
    title: str
    category_id: int | None
    external_id: str  # the catalogue's own id: stable across imports of the same catalogue


def main_images(*, active_only: bool = True) -> list[MainImage]:
    """One picture per product (the lowest position), ordered by product id."""
    rows = ProductImage.objects.order_by("product_id", "position", "pk").distinct("product_id")
    if active_only:
        rows = rows.filter(product__active=True)
    return [
        MainImage(pid, pk, sha, name, title, cat, ext)
        for pid, pk, sha, name, title, cat, ext in rows.values_list(
            "product_id",
            "pk",
            "sha256",
            "file",
            "product__title",
            "product__category_id",
            "product__external_id",
        )
    ]


def read_image_bytes(name: str) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as fh:
        return fh.read()


def image_vector_count(version_id: int) -> int:
    return ImageEmbedding.objects.filter(model_version_id=version_id).count()


def products_with_images() -> int:
    return ProductImage.objects.values("product_id").distinct().count()
