"""Writes of product pictures: store a checked picture, import a folder or archive, fetch an
allowed URL, render the demo store's pictures."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from catalog.images.logic.checks import CheckedImage, ImageRejected, check_image
from catalog.images.logic.urls import check_fetch_url
from catalog.images.models import ProductImage
from catalog.models import Product

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def image_limits() -> dict[str, int]:
    """The byte and pixel limits every stored or queried picture is held to (settings)."""
    return {"max_bytes": settings.IMAGE_MAX_BYTES, "max_pixels": settings.IMAGE_MAX_PIXELS}


def image_check(data: bytes) -> CheckedImage:
    """``check_image`` under the configured limits (raises ``ImageRejected``)."""
    return check_image(data, **image_limits())


def product_image_store(
    *, product: Product, data: bytes, source: str, position: int = 0
) -> ProductImage:
    """Check ``data`` and store it as the product's picture at ``position`` (a picture already
    there is replaced; the same bytes twice are stored once). Raises ``ImageRejected``."""
    checked = image_check(data)
    return _store_checked(product=product, checked=checked, source=source, position=position)


def _store_checked(
    *, product: Product, checked: CheckedImage, source: str, position: int
) -> ProductImage:
    with transaction.atomic():
        same = ProductImage.objects.filter(product=product, sha256=checked.sha256).first()
        if same is not None:
            return same
        old = list(ProductImage.objects.filter(product=product, position=position))
        for image in old:
            image.file.delete(save=False)
            image.delete()
        image = ProductImage(
            product=product,
            sha256=checked.sha256,
            width=checked.width,
            height=checked.height,
            format=checked.format,
            bytes=len(checked.data),
            position=position,
            source=source,
        )
        name = f"{product.external_id}-{checked.sha256[:12]}.{checked.extension}"
        image.file.save(name, ContentFile(checked.data), save=False)
        image.save()
        Product.objects.filter(pk=product.pk).update(needs_embedding=True)
        return image


@dataclass
class ImageImportReport:
    """What an image import did: stored pictures, and each file it refused with the reason."""

    stored: int = 0
    unchanged: int = 0
    unknown_products: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.stored} pictures stored, {self.unchanged} unchanged, "
            f"{len(self.unknown_products)} for unknown products, {len(self.refused)} refused"
        )


def _entries(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(file name, reader) of every picture in a folder (recursively) or a zip archive."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                yield file.name, file.read_bytes
        return
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename).name  # never a path from the archive
            if info.is_dir() or PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if info.file_size > settings.IMAGE_MAX_BYTES:  # refused before it is inflated
                yield name, _too_big(info.file_size)
                continue
            yield name, (lambda info=info: archive.read(info))


def _too_big(size: int) -> Callable[[], bytes]:
    def reader() -> bytes:
        raise ImageRejected(f"the image is {size:,} bytes, more than allowed", too_large=True)

    return reader


def product_images_import(path: str | Path) -> ImageImportReport:
    """Import the pictures of a folder or a zip archive: ``<external id>.<ext>`` is a product's
    main picture, ``<external id>__<n>.<ext>`` its picture number ``n``. Every file is checked
    (decoded, limits, EXIF stripped); a refused file is reported, never stored."""
    path = Path(path)
    report = ImageImportReport()
    products = {p.external_id: p for p in Product.objects.only("id", "external_id")}
    for name, read in _entries(path):
        stem = PurePosixPath(name).stem
        external_id, _, number = stem.partition("__")
        product = products.get(external_id)
        if product is None:
            report.unknown_products.append(external_id)
            continue
        try:
            checked = image_check(read())
        except ImageRejected as exc:
            report.refused[name] = str(exc)
            continue
        position = int(number) if number.isdigit() else 0
        before = ProductImage.objects.filter(product=product, sha256=checked.sha256).exists()
        _store_checked(
            product=product, checked=checked, source=ProductImage.Source.IMPORT, position=position
        )
        if before:
            report.unchanged += 1
        else:
            report.stored += 1
    return report


def product_image_fetch(*, product: Product, url: str, timeout: float = 10.0) -> ProductImage:
    """Fetch a picture from an allowed host (off unless IMAGE_URL_FETCH; IMAGE_URL_HOSTS is the
    allow-list; redirects are not followed) and store it like an upload."""
    import urllib.request

    check_fetch_url(
        url, enabled=settings.IMAGE_URL_FETCH, allowed_hosts=tuple(settings.IMAGE_URL_HOSTS)
    )

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # a redirect could leave the allow-list
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(url, timeout=timeout) as response:
        data = response.read(settings.IMAGE_MAX_BYTES + 1)
    return product_image_store(product=product, data=data, source=ProductImage.Source.URL)


def images_demo_write(store: Any, shift: timedelta) -> dict[str, int]:
    """Render and store the demo store's pictures (``store.extras["images"]``), inside the demo
    load's transaction. Registered with ``catalog.import_hooks`` by this app's ``ready()``."""
    part = store.extras.get("images") if hasattr(store, "extras") else None
    if not part or not settings.DEMO_STORE_IMAGES:
        return {}
    from catalog.demo.images import png_bytes, render_spec  # Pillow + numpy: the demo load only

    ids = dict(Product.objects.values_list("external_id", "id"))
    rows = []
    for external_id, spec in part["images"].items():
        if external_id not in ids:
            continue
        checked = check_image(png_bytes(render_spec(spec)))
        image = ProductImage(
            product_id=ids[external_id],
            sha256=checked.sha256,
            width=checked.width,
            height=checked.height,
            format=checked.format,
            bytes=len(checked.data),
            position=0,
            source=ProductImage.Source.DEMO,
        )
        image.file.save(
            f"{external_id}-{checked.sha256[:12]}.png", ContentFile(checked.data), save=False
        )
        rows.append(image)
    ProductImage.objects.bulk_create(rows, batch_size=1000)
    return {"images": len(rows)}
