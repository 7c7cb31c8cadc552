"""Pictures stored from the demo store, a folder, an archive and the admin's upload form."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from catalog.images.models import ProductImage
from catalog.images.services import product_images_import
from catalog.models import Product
from catalog.services.demo import demo_store_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _png(rgb=(10, 120, 200), size=(16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_demo_store_renders_a_checked_picture_per_product(tmp_path):
    demo_store_build(products=40, shoppers=5, days=2, seed=3, truth_dir=tmp_path / "truth")
    assert ProductImage.objects.count() == Product.objects.count() == 40
    image = ProductImage.objects.select_related("product").first()
    assert image.source == "demo" and image.format == "PNG" and image.width == 64
    with image.file.open("rb") as fh:
        assert Image.open(fh).size == (64, 64)
    assert (tmp_path / "truth" / "images.json").exists()


def test_folder_and_archive_import_refuse_what_is_not_a_picture(tmp_path):
    demo_store_build(products=6, shoppers=2, days=1, seed=3, truth_dir=tmp_path / "truth")
    ProductImage.objects.all().delete()
    ids = list(Product.objects.order_by("external_id").values_list("external_id", flat=True))
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / f"{ids[0]}.png").write_bytes(_png())
    (folder / f"{ids[1]}__2.png").write_bytes(_png((200, 0, 0)))
    (folder / f"{ids[2]}.jpg").write_bytes(b"GIF89a not really")
    (folder / "nobody.png").write_bytes(_png())
    report = product_images_import(folder)
    assert report.stored == 2 and report.unknown_products == ["nobody"]
    assert list(report.refused) == [f"{ids[2]}.jpg"]
    assert ProductImage.objects.get(product__external_id=ids[1]).position == 2

    archive = tmp_path / "pics.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"deep/../{ids[3]}.png", _png((0, 200, 0)))
        zf.writestr(f"{ids[0]}.png", _png())  # the same bytes again: stored once
    report = product_images_import(archive)
    assert (report.stored, report.unchanged) == (1, 1)
    assert ProductImage.objects.count() == 3


def test_admin_upload_stores_a_stripped_picture(client, operator_user, tmp_path):
    demo_store_build(products=3, shoppers=2, days=1, seed=3, truth_dir=tmp_path / "truth")
    product = Product.objects.order_by("external_id").first()
    client.force_login(operator_user)
    upload = io.BytesIO(_png((1, 2, 3), (32, 24)))
    upload.name = "photo.png"
    response = client.post(
        "/admin/images/productimage/add/",
        {"product": product.pk, "position": 1, "upload": upload},
    )
    assert response.status_code == 302, response.content[:2000]
    stored = ProductImage.objects.get(product=product, position=1)
    assert (stored.width, stored.height, stored.source) == (32, 24, "upload")
    bad = io.BytesIO(b"not an image")
    bad.name = "x.png"
    response = client.post(
        "/admin/images/productimage/add/", {"product": product.pk, "position": 2, "upload": bad}
    )
    assert response.status_code == 200 and b"decode" in response.content
    listing = client.get("/admin/images/productimage/?q=" + product.external_id)
    assert listing.status_code == 200
