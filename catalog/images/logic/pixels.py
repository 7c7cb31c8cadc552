"""Pictures as the pixel arrays the image encoders read.  Plain Python (Pillow + numpy)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def image_array(image: Image.Image, size: int) -> np.ndarray:
    """An RGB picture as a ``uint8`` (size, size, 3) array: the longer side fitted and the
    rest padded with the picture's own border colour (no stretching)."""
    image = image.convert("RGB")
    if image.size != (size, size):
        scale = size / max(image.size)
        w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
        fitted = image.resize((w, h), Image.Resampling.BILINEAR)
        corner = fitted.getpixel((0, 0))
        image = Image.new("RGB", (size, size), corner)
        image.paste(fitted, ((size - w) // 2, (size - h) // 2))
    return np.asarray(image, dtype=np.uint8)


def bytes_array(data: bytes, size: int) -> np.ndarray:
    """Stored picture bytes (already checked) as an array."""
    with Image.open(io.BytesIO(data)) as image:
        return image_array(image, size)
