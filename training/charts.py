"""Server-side SVG charts for the admin job and model-version pages: no JavaScript library needed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#417690", "#c0392b", "#27ae60", "#8e44ad", "#d35400")
PREFERRED = ("loss", "throughput", "pairs_per_sec", "examples_per_sec", "lr")


def chart_series(history: Sequence[dict[str, Any]], limit: int = 4) -> list[str]:
    """Numeric series worth plotting (two points or more), the usual ones first."""
    counts: dict[str, int] = {}
    for point in history:
        for key, value in point.items():
            if key in ("t", "step", "fraction", "stage") or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and math.isfinite(value):
                counts[key] = counts.get(key, 0) + 1
    names = [k for k in PREFERRED if counts.get(k, 0) >= 2]
    names += sorted(k for k, n in counts.items() if n >= 2 and k not in names)
    return names[:limit]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def line_chart_svg(
    history: Sequence[dict[str, Any]],
    series: str,
    *,
    width: int = 460,
    height: int = 150,
    colour: str = COLOURS[0],
) -> SafeString:
    """One series of ``history`` points (``t`` seconds on x) as an inline SVG line chart."""
    points = [
        (float(p["t"]), float(p[series]))
        for p in history
        if series in p
        and isinstance(p.get(series), int | float)
        and math.isfinite(p[series])
        and "t" in p
    ]
    left, right, top, bottom = 56, 10, 18, 24
    inner_w, inner_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(series)} over time" '
        'class="aisle-chart">',  # no style="" (Content-Security-Policy): aisle/admin.css
        f'<text x="{left}" y="12" font-size="11" fill="#333">{escape(series)}</text>',
    ]
    if len(points) < 2:
        parts.append(
            f'<text x="{left}" y="{top + inner_h / 2}" font-size="11" fill="#999">not enough points yet</text>'
        )
        parts.append("</svg>")
        return mark_safe("".join(parts))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5 if y0 else -0.5, y1 + 0.5 if y1 else 0.5

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * inner_w

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * inner_h

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(points)
    )
    parts += [
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end" fill="#555">{_fmt(y1)}</text>',
        f'<text x="{left - 4}" y="{top + inner_h}" font-size="10" text-anchor="end" fill="#555">{_fmt(y0)}</text>',
        f'<text x="{left}" y="{height - 6}" font-size="10" fill="#555">{_fmt(x0)} s</text>',
        f'<text x="{left + inner_w}" y="{height - 6}" font-size="10" text-anchor="end" fill="#555">{_fmt(x1)} s</text>',
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.6"/>',
        f'<circle cx="{sx(xs[-1]):.1f}" cy="{sy(ys[-1]):.1f}" r="2.5" fill="{colour}"/>',
        f'<text x="{left + inner_w}" y="12" font-size="11" text-anchor="end" fill="{colour}">last {_fmt(ys[-1])}</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))


def job_charts(history: Sequence[dict[str, Any]]) -> list[SafeString]:
    """One chart per plotted series of a job's ``metrics_history``."""
    return [
        line_chart_svg(history, name, colour=COLOURS[i % len(COLOURS)])
        for i, name in enumerate(chart_series(history))
    ]


def progress_bar(fraction: float, status: str, *, width: int = 120) -> SafeString:
    """A small HTML progress bar (list pages and the job page)."""
    fraction = min(max(fraction or 0.0, 0.0), 1.0)
    colour = {"failed": "#ba2121", "cancelled": "#999", "succeeded": "#44a048"}.get(
        status, "#79aec8"
    )
    # SVG geometry attributes instead of style="" (the Content-Security-Policy forbids inline styles)
    return mark_safe(
        f'<svg class="aisle-progress" title="{fraction:.0%}" width="{width}" height="10" '
        f'viewBox="0 0 {width} 10" role="img" aria-label="{fraction:.0%}">'
        f'<rect width="{width}" height="10" rx="3" fill="#eee"/>'
        f'<rect width="{fraction * width:.1f}" height="10" rx="3" fill="{colour}"/></svg>'
        f' <span class="aisle-progress-label">{fraction:.0%}</span>'
    )


def metric_bars_svg(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    labels: tuple[str, str] = ("this version", "the other"),
    width: int = 460,
    limit: int = 12,
) -> SafeString:
    """Two bars per metric (``(name, a, b)``, scores in [0, 1]) as an inline SVG, or "" when no
    row has a score in that range: the version page's picture of its comparison table."""
    shown = [
        (name, a, b)
        for name, a, b in rows
        if any(isinstance(v, int | float) and 0 <= v <= 1 for v in (a, b))
    ][:limit]
    if not shown:
        return mark_safe("")
    left, bar_h, gap, top = 170, 8, 8, 22
    inner = width - left - 60
    height = top + len(shown) * (2 * bar_h + gap) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="metrics compared" class="aisle-chart">',
        f'<rect x="{left}" y="4" width="10" height="8" fill="{COLOURS[0]}"/>'
        f'<text x="{left + 14}" y="12" font-size="10" fill="#333">{escape(labels[0])}</text>',
        f'<rect x="{left + 150}" y="4" width="10" height="8" fill="{COLOURS[4]}"/>'
        f'<text x="{left + 164}" y="12" font-size="10" fill="#333">{escape(labels[1])}</text>',
    ]
    for i, (name, a, b) in enumerate(shown):
        y = top + i * (2 * bar_h + gap)
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h + 3}" font-size="10" text-anchor="end" '
            f'fill="#333">{escape(name)}</text>'
        )
        for j, (value, colour) in enumerate(((a, COLOURS[0]), (b, COLOURS[4]))):
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            w = max(min(value, 1.0), 0.0) * inner
            yy = y + j * bar_h
            parts.append(
                f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar_h - 1}" fill="{colour}"/>'
                f'<text x="{left + w + 3:.1f}" y="{yy + bar_h - 1}" font-size="9" '
                f'fill="#555">{_fmt(value)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))
