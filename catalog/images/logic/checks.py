"""Checking an uploaded picture: decode it (the type is what Pillow reads, never the name or
the declared content type), hold it to the byte and pixel limits, and re-encode it without
EXIF or any other metadata.  Plain Python (Pillow), no Django."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000


class ImageRejected(ValueError):
    """The bytes are not an acceptable picture. ``too_large`` tells a 413 from a 415."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class CheckedImage:
    """A decoded, re-encoded picture: ``data`` carries no EXIF or other metadata."""

    data: bytes
    format: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg"}.get(self.format, self.format.lower())


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # a decompression bomb is refused by our own pixel limit below, with a clear message
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in ALLOWED_FORMATS:
                raise ImageRejected(
                    f"unsupported image type {fmt or 'unknown'}: send one of "
                    f"{', '.join(ALLOWED_FORMATS)}"
                )
            if image.width * image.height > max_pixels:
                raise ImageRejected(
                    f"the image has {image.width}x{image.height} pixels, more than the "
                    f"{max_pixels:,} allowed",
                    too_large=True,
                )
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"the image has too many pixels ({exc})", too_large=True) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("the file is not an image Pillow can decode") from exc
    image.format_checked = fmt  # type: ignore[attr-defined]
    return image


def decode(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The picture in ``data`` as an RGB image (first frame), or ``ImageRejected``."""
    if len(data) > max_bytes:
        raise ImageRejected(
            f"the image is {len(data):,} bytes, more than the {max_bytes:,} allowed",
            too_large=True,
        )
    if not data:
        raise ImageRejected("the image is empty")
    image = _open(data, max_pixels)
    return image.convert("RGB")


def check_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> CheckedImage:
    """Decode ``data``, check it and re-encode it without metadata (PNG stays PNG, GIF becomes
    PNG, JPEG and WEBP keep their format at high quality)."""
    if len(data) > max_bytes:
        raise ImageRejected(
            f"the image is {len(data):,} bytes, more than the {max_bytes:,} allowed",
            too_large=True,
        )
    if not data:
        raise ImageRejected("the image is empty")
    image = _open(data, max_pixels)
    fmt = image.format_checked  # type: ignore[attr-defined]
    out_format = "PNG" if fmt in ("PNG", "GIF") else fmt
    mode = "RGBA" if out_format == "PNG" and image.mode in ("RGBA", "LA", "P") else "RGB"
    clean = image.convert(mode)  # a new image: no info dict, so no EXIF, XMP or ICC travels on
    buffer = io.BytesIO()
    if out_format == "PNG":
        clean.save(buffer, format="PNG")
    else:
        clean.save(buffer, format=out_format, quality=92)
    encoded = buffer.getvalue()
    return CheckedImage(
        data=encoded,
        format=out_format,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )
