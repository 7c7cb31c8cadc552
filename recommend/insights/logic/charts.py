"""The shopper page's interest chart: one row per category or brand, its share now and its share
30 days before as two bars (plain Python: an inline SVG with presentation attributes only, as
the admin's Content-Security-Policy allows)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

NOW_COLOUR = "#2a7ab0"
BEFORE_COLOUR = "#b8d3e6"


def interest_bars_svg(
    rows: Sequence[tuple[str, float, float]], *, title: str, width: int = 560
) -> str:
    """``rows`` are ``(name, share now, share before)`` with shares in [0, 1]; empty string
    when there is nothing to draw. Each bar carries a ``<title>`` with its figure."""
    if not rows:
        return ""
    label_w, row_h, top = 170, 26, 34
    bar_w = width - label_w - 60
    height = top + row_h * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'class="aisle-chart aisle-fluid-svg">',
        f'<text x="0" y="14" font-size="12" fill="#333">{escape(title)}</text>',
        f'<rect x="{label_w}" y="20" width="10" height="8" fill="{NOW_COLOUR}"/>',
        f'<text x="{label_w + 14}" y="28" font-size="10" fill="#333">now</text>',
        f'<rect x="{label_w + 50}" y="20" width="10" height="8" fill="{BEFORE_COLOUR}"/>',
        f'<text x="{label_w + 64}" y="28" font-size="10" fill="#333">30 days before</text>',
    ]
    for i, (name, now, before) in enumerate(rows):
        y = top + i * row_h
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" fill="#333" '
            f'text-anchor="end">{escape(short)}</text>'
        )
        for offset, share, colour, when in (
            (2, now, NOW_COLOUR, "now"),
            (12, before, BEFORE_COLOUR, "30 days before"),
        ):
            w = max(0.0, min(1.0, share)) * bar_w
            parts.append(
                f'<rect x="{label_w}" y="{y + offset}" width="{w:.1f}" height="9" fill="{colour}">'
                f"<title>{escape(name)} {when}: {share:.1%}</title></rect>"
            )
        change = now - before
        colour = "#555" if abs(change) < 0.005 else "#1a7f37" if change > 0 else "#b42318"
        figure = "±0%" if abs(change) < 0.005 else f"{change:+.0%}"
        parts.append(
            f'<text x="{label_w + bar_w + 6}" y="{y + 14}" font-size="10" '
            f'fill="{colour}">{figure}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
