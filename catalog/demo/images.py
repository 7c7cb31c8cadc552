"""Product pictures for the demo store, drawn with Pillow from a product's attributes, and the
image planting (issue 17 §2).  Plain Python (Pillow + numpy), no Django.

A picture is a flat drawing: the **shape** says the category (each leaf of the demo tree has a
distinct polygon, star or ellipse; an unknown category gets one from a hash of its name), the
**colour** is the product's ``color`` attribute (or, for a product without one, a colour the
planting draws), and the **pattern** (solid, stripes, dots, checks) is drawn per product.  A
*view* places it: rotation, scale and offset (the pose), a background tint and a level of
pixel noise.  The same product drawn under two views is the same object in two photographs;
that is what searching by image has to see through.

``plant_images`` draws, from its own stream (``streams.rng("images")``), each product's
colour, pattern and catalogue view; the part returned (``store.extras["images"]``) holds
``images`` (external id → spec, which the loader renders and stores) and ``truth``
(``images.json``: the same specs, so a benchmark knows each picture's category and colour).
The base store and every other planting stay as they were.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from catalog.demo import vocab
from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "images"
SIZE = 64  # pixels a side: small enough to render thousands in seconds and train on a CPU
SUPERSAMPLE = 2
PATTERNS = ("solid", "stripes", "dots", "checks")
#: colours drawn for products whose attributes carry none
FILL_COLOURS = ("black", "white", "grey", "navy", "red", "green", "blue", "beige", "orange")
BACKGROUNDS = ((244, 244, 240), (228, 236, 244), (246, 236, 226), (232, 244, 232), (250, 250, 250))
NOISE_LEVELS = (0.0, 6.0, 12.0, 20.0)

COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "beige": (222, 200, 160),
    "berry": (140, 30, 80),
    "black": (25, 25, 25),
    "blue": (40, 90, 210),
    "brass": (180, 150, 60),
    "brown": (110, 70, 40),
    "burgundy": (110, 20, 40),
    "camel": (190, 140, 80),
    "charcoal": (60, 60, 64),
    "classic red": (200, 20, 30),
    "clear": (200, 225, 235),
    "coral": (250, 120, 100),
    "cream": (245, 235, 205),
    "dark blue": (20, 40, 120),
    "emerald": (20, 140, 90),
    "graphite": (80, 84, 90),
    "green": (40, 150, 50),
    "grey": (140, 140, 140),
    "light blue": (150, 200, 240),
    "multicolour": (200, 80, 200),
    "navy": (20, 30, 80),
    "neon yellow": (220, 255, 40),
    "nude": (225, 180, 160),
    "oak": (170, 120, 70),
    "olive": (110, 120, 40),
    "orange": (245, 130, 20),
    "pink": (245, 150, 190),
    "purple": (120, 50, 160),
    "red": (210, 35, 35),
    "rose gold": (220, 160, 150),
    "sage green": (150, 175, 140),
    "sand": (210, 190, 150),
    "silver": (190, 192, 198),
    "stainless steel": (160, 165, 170),
    "tan": (200, 160, 110),
    "teal": (20, 130, 130),
    "titanium": (130, 130, 125),
    "white": (248, 248, 248),
    "yellow": (245, 210, 30),
}

# (corners; 0 = ellipse, inner radius as a share of the outer one: 1 = polygon, < 1 = star,
#  aspect = width / height)
_SHAPE_GRID = [
    (n, inner, aspect)
    for inner in (1.0, 0.5)
    for n in (0, 3, 4, 5, 6, 8)
    for aspect in (1.0, 0.6, 1.5)
    if not (n == 0 and inner < 1.0)
]
_LEAF_ORDER = [leaf["id"] for leaf in vocab.LEAVES]


@dataclass(frozen=True)
class View:
    """Where and how a product is photographed."""

    angle: float = 0.0  # degrees
    scale: float = 0.8  # of the frame
    dx: float = 0.0  # offset, share of the frame
    dy: float = 0.0
    background: int = 0  # index into BACKGROUNDS
    noise: float = 0.0  # standard deviation of the pixel noise (0–255 scale)
    seed: int = 0  # the noise's own seed

    def as_dict(self) -> dict:
        return {
            "angle": self.angle,
            "scale": self.scale,
            "dx": self.dx,
            "dy": self.dy,
            "background": self.background,
            "noise": self.noise,
            "seed": self.seed,
        }


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shape_of(category: str) -> tuple[int, float, float]:
    """The shape that stands for ``category``: a demo leaf's own, else one from a hash."""
    if category in _LEAF_ORDER:
        return _SHAPE_GRID[_LEAF_ORDER.index(category) % len(_SHAPE_GRID)]
    return _SHAPE_GRID[_stable_int(category) % len(_SHAPE_GRID)]


def colour_rgb(name: str) -> tuple[int, int, int]:
    """A colour name's RGB; a name the table lacks gets a stable colour from its hash."""
    if name in COLOUR_RGB:
        return COLOUR_RGB[name]
    h = _stable_int(name)
    return (h & 0xFF, (h >> 8) & 0xFF, (h >> 16) & 0xFF)


def random_view(rng: random.Random) -> View:
    """A view drawn from ``rng``: any pose, background and noise level."""
    return View(
        angle=round(rng.uniform(-40, 40), 1),
        scale=round(rng.uniform(0.6, 0.9), 3),
        dx=round(rng.uniform(-0.08, 0.08), 3),
        dy=round(rng.uniform(-0.08, 0.08), 3),
        background=rng.randrange(len(BACKGROUNDS)),
        noise=rng.choice(NOISE_LEVELS),
        seed=rng.randrange(2**31),
    )


def _outline(n: int, inner: float, aspect: float, view: View, size: int) -> list[tuple]:
    radius = size * view.scale / 2
    cx = size / 2 + view.dx * size
    cy = size / 2 + view.dy * size
    sx, sy = (1.0, 1.0 / aspect) if aspect >= 1 else (aspect, 1.0)
    if n == 0:
        corners, steps = 48, [1.0] * 48
    elif inner < 1.0:
        corners, steps = 2 * n, [1.0 if i % 2 == 0 else inner for i in range(2 * n)]
    else:
        corners, steps = n, [1.0] * n
    turn = math.radians(view.angle) - math.pi / 2
    points = []
    for i in range(corners):
        a = 2 * math.pi * i / corners
        x, y = math.cos(a) * radius * steps[i] * sx, math.sin(a) * radius * steps[i] * sy
        points.append(
            (
                cx + x * math.cos(turn) - y * math.sin(turn),
                cy + x * math.sin(turn) + y * math.cos(turn),
            )
        )
    return points


def _pattern_layer(pattern: str, rgb: tuple[int, int, int], view: View, size: int) -> Image.Image:
    """The product's surface: its colour, with the pattern in a darker (or lighter) tone,
    turned with the pose so that stripes follow the object."""
    layer = Image.new("RGB", (size * 2, size * 2), rgb)
    if pattern == "solid":
        return layer.crop((0, 0, size, size))
    tone = (
        tuple(int(c * 0.45) for c in rgb)
        if sum(rgb) > 200
        else tuple(min(255, int(c + 110)) for c in rgb)
    )
    draw = ImageDraw.Draw(layer)
    step = max(4, size // 8)
    if pattern == "stripes":
        for x in range(0, size * 2, step * 2):
            draw.rectangle((x, 0, x + step - 1, size * 2), fill=tone)
    elif pattern == "checks":
        for x in range(0, size * 2, step):
            for y in range(0, size * 2, step):
                if (x // step + y // step) % 2:
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=tone)
    elif pattern == "dots":
        r = max(1, step // 3)
        for x in range(step // 2, size * 2, step):
            for y in range(step // 2, size * 2, step):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=tone)
    layer = layer.rotate(view.angle, resample=Image.Resampling.BILINEAR)
    offset = size // 2
    return layer.crop((offset, offset, offset + size, offset + size))


def render(
    *,
    category: str,
    colour: str,
    pattern: str = "solid",
    view: View | None = None,
    size: int = SIZE,
) -> Image.Image:
    """Draw one product under ``view`` (default: centred, upright, clean) as a ``size`` px
    RGB image."""
    view = view or View()
    big = size * SUPERSAMPLE
    n, inner, aspect = shape_of(category)
    image = Image.new("RGB", (big, big), BACKGROUNDS[view.background % len(BACKGROUNDS)])
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).polygon(_outline(n, inner, aspect, view, big), fill=255)
    surface = _pattern_layer(pattern, colour_rgb(colour), view, big)
    image.paste(surface, (0, 0), mask)
    # a thin outline, as a photograph's edge would be
    ImageDraw.Draw(image).polygon(_outline(n, inner, aspect, view, big), outline=(90, 90, 90))
    image = image.resize((size, size), Image.Resampling.BILINEAR)
    if view.noise > 0:
        pixels = np.asarray(image, dtype=np.float32)
        noise = np.random.default_rng(view.seed).normal(0.0, view.noise, pixels.shape)
        image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    return image


def render_spec(spec: dict, view: View | None = None, size: int = SIZE) -> Image.Image:
    """Draw a planted spec (``category``, ``colour``, ``pattern``, ``view``) under its own
    catalogue view, or under ``view`` when given."""
    if view is None:
        view = View(**spec.get("view", {}))
    return render(
        category=spec["category"],
        colour=spec["colour"],
        pattern=spec.get("pattern", "solid"),
        view=view,
        size=size,
    )


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def plant_images(store: DemoStore, streams: Streams) -> dict:
    """Each product's picture spec, from the planting's own stream."""
    rng = streams.rng(NAME)
    specs: dict[str, dict] = {}
    for p in store.products:
        attributes = p.get("attributes") or {}
        drawn = rng.choice(FILL_COLOURS)  # drawn for every product: one product's colour
        colour = str(attributes.get("color") or drawn)  # never moves another's draws
        pattern = rng.choice(PATTERNS)
        view = random_view(rng)
        specs[p["external_id"]] = {
            "category": p.get("category") or "",
            "colour": colour,
            "pattern": pattern,
            "view": view.as_dict(),
        }
    return {
        "images": specs,
        "truth": {
            "rule": "shape by category, colour = the color attribute (else drawn), pattern drawn; "
            f"{SIZE} px PNG",
            "products": specs,
        },
    }
