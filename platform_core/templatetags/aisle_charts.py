"""Small inline-SVG charts for admin pages: no CDN, no JavaScript library, no inline style (the
Content-Security-Policy forbids it; colours come from classes in ``aisle/admin.css``).

``{% load aisle_charts %}{% sparkline values %}`` draws a line of ``values`` (numbers in time
order; None and non-finite values are gaps) scaled to the box, with a dot on the last value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def sparkline_points(
    values: Iterable[float | None], *, width: float, height: float, pad: float = 2.0
) -> list[list[tuple[float, float]]]:
    """The polyline segments (lists of (x, y)) of ``values`` in a ``width`` × ``height`` box:
    x spread evenly, y scaled from min (bottom) to max (top); a flat series sits mid-height.
    A missing value (None, NaN, inf) breaks the line."""
    items = []
    for v in values:
        try:
            number = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            number = math.nan
        items.append(number)
    finite = [v for v in items if math.isfinite(v)]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    step = (width - 2 * pad) / (len(items) - 1) if len(items) > 1 else 0.0
    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(items):
        if not math.isfinite(v):
            if segments[-1]:
                segments.append([])
            continue
        share = 0.5 if high == low else (v - low) / (high - low)
        x = pad + i * step if len(items) > 1 else width / 2
        y = height - pad - share * (height - 2 * pad)
        segments[-1].append((round(x, 2), round(y, 2)))
    return [s for s in segments if s]


@register.simple_tag
def sparkline(values, width: int = 120, height: int = 28, label: str = "") -> SafeString:
    """An inline SVG sparkline of ``values`` (empty string when there is nothing to draw)."""
    segments = sparkline_points(values or [], width=width, height=height)
    if not segments:
        return mark_safe("")
    lines = "".join(
        format_html(
            '<polyline class="aisle-spark-line" points="{}"/>',
            " ".join(f"{x},{y}" for x, y in segment),
        )
        for segment in segments
    )
    last_x, last_y = segments[-1][-1]
    return format_html(
        '<svg class="aisle-spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}">{lines}<circle class="aisle-spark-dot" cx="{x}" cy="{y}" r="2"/>'
        "</svg>",
        w=width,
        h=height,
        label=label or "trend",
        lines=mark_safe(lines),
        x=last_x,
        y=last_y,
    )
