"""The visual-search lab's query picture: another photograph of a product, made from its stored
main picture. Plain Python (Pillow + numpy), no Django.

The product is turned, moved and rescaled on a differently tinted background, with a little
pixel noise — what a shopper's own photograph of the same object changes — while its shape,
colour and pattern stay. It works for any catalogue's pictures, not only the demo store's
drawings. Deterministic: the same picture and seed always give the same bytes.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageOps

#: the query picture's size (pixels a side): the size the demo store's pictures are drawn at
SIZE = 64
#: background tints, none of them the demo store's plain catalogue white
TINTS = ((236, 228, 214), (220, 230, 240), (226, 238, 224), (240, 226, 230))


def _background(image: Image.Image) -> tuple[int, int, int]:
    """The picture's background colour: the median of its border pixels."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))


def another_view(picture: bytes, *, seed: int, size: int = SIZE) -> bytes:
    """``picture`` (any format Pillow reads) photographed again: PNG bytes."""
    rng = random.Random(seed)
    source = ImageOps.exif_transpose(Image.open(io.BytesIO(picture))).convert("RGB")
    source = source.resize((size, size), Image.Resampling.BILINEAR)
    background = _background(source)
    # The object: every pixel far enough from the background colour.
    pixels = np.asarray(source, dtype=np.int16)
    distance = np.abs(pixels - np.array(background, dtype=np.int16)).sum(axis=2)
    mask = Image.fromarray(((distance > 24) * 255).astype(np.uint8), mode="L")
    angle = rng.choice((-1, 1)) * rng.uniform(20.0, 70.0)
    scale = rng.uniform(0.75, 0.95)
    side = max(8, round(size * scale))
    obj = source.resize((side, side), Image.Resampling.BILINEAR).rotate(
        angle, resample=Image.Resampling.BILINEAR
    )
    obj_mask = mask.resize((side, side), Image.Resampling.BILINEAR).rotate(
        angle, resample=Image.Resampling.BILINEAR
    )
    canvas = Image.new("RGB", (size, size), rng.choice(TINTS))
    room = size - side
    dx = rng.randint(0, room) if room > 0 else 0
    dy = rng.randint(0, room) if room > 0 else 0
    canvas.paste(obj, (dx, dy), obj_mask)
    noisy = np.asarray(canvas, dtype=np.float32) + np.random.default_rng(seed).normal(
        0.0, 5.0, (size, size, 3)
    )
    out = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")
    return buffer.getvalue()
