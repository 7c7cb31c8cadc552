"""Picture checks: type by decoding, byte and pixel limits, EXIF stripped; URL allow-list."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from catalog.images.logic.checks import ImageRejected, check_image, decode
from catalog.images.logic.urls import UrlRefused, check_fetch_url


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (20, 10), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # a GPS block
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_exif_is_stripped_and_type_is_decoded():
    raw = _jpeg_with_exif()
    assert b"SpyCam" in raw
    checked = check_image(raw)
    assert checked.format == "JPEG" and (checked.width, checked.height) == (20, 10)
    assert b"SpyCam" not in checked.data
    assert not Image.open(io.BytesIO(checked.data)).getexif()


def test_a_non_image_with_an_image_name_is_refused_as_a_type_error():
    with pytest.raises(ImageRejected) as caught:
        check_image(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    assert not caught.value.too_large


def test_limits_refuse_as_too_large():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (0, 0, 0)).save(buffer, format="PNG")
    data = buffer.getvalue()
    with pytest.raises(ImageRejected) as by_pixels:
        check_image(data, max_pixels=300 * 299)
    assert by_pixels.value.too_large
    with pytest.raises(ImageRejected) as by_bytes:
        decode(data, max_bytes=len(data) - 1)
    assert by_bytes.value.too_large
    assert decode(data).size == (300, 300)


def test_url_fetching_is_off_by_default_and_held_to_the_allow_list():
    hosts = ("img.shop.example",)
    with pytest.raises(UrlRefused, match="off"):
        check_fetch_url("https://img.shop.example/a.png", enabled=False, allowed_hosts=hosts)
    assert check_fetch_url("https://img.shop.example/a.png", enabled=True, allowed_hosts=hosts)
    for url in (
        "https://evil.example/a.png",
        "http://127.0.0.1/a.png",
        "http://[::1]/a.png",
        "file:///etc/passwd",
        "https://img.shop.example:6379/a.png",
        "https://user:pw@img.shop.example/a.png",
    ):
        with pytest.raises(UrlRefused):
            check_fetch_url(url, enabled=True, allowed_hosts=hosts)
