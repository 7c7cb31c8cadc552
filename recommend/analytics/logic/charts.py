"""Inline SVG for the analytics pages, as text. Plain Python, no Django (the view marks it safe).

No ``style=""`` (the Content-Security-Policy forbids inline styles): geometry and colours are
attributes, the frame comes from ``.aisle-chart`` in ``aisle/admin.css``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR = "#417690"
AXIS = "#999"
TEXT = "#555"


def _pct(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def bars_svg(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    height: int = 200,
) -> str:
    """One bar per ``(label, rate)`` (rates in [0, 1]), left to right: the position-bias curve.

    Empty string when there is nothing to draw. Every bar carries a ``<title>`` with its
    figure, and the highest rate labels the y axis.
    """
    if not points:
        return ""
    left, right, top, bottom = 48, 8, 22, 26
    inner_w, inner_h = width - left - right, height - top - bottom
    high = max(max(rate for _, rate in points), 1e-9)
    step = inner_w / len(points)
    bar_w = max(1.0, step * 0.75)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'class="aisle-chart aisle-fluid-svg">',
        f'<text x="{left}" y="14" font-size="11" fill="#333">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="{AXIS}"/>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" '
        f'stroke="{AXIS}"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end" '
        f'fill="{TEXT}">{_pct(high)}</text>',
        f'<text x="{left - 4}" y="{top + inner_h}" font-size="10" text-anchor="end" '
        f'fill="{TEXT}">0</text>',
    ]
    label_every = max(1, len(points) // 12)
    for i, (label, rate) in enumerate(points):
        h = max(0.0, rate) / high * inner_h
        x = left + i * step + (step - bar_w) / 2
        parts.append(
            f'<rect class="aisle-bar" x="{x:.1f}" y="{top + inner_h - h:.1f}" '
            f'width="{bar_w:.1f}" height="{h:.1f}" fill="{BAR}">'
            f"<title>{escape(label)}: {_pct(rate)}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + inner_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
