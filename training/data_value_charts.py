"""The two charts of a data-value report, server-side SVG like ``training.charts`` (no
JavaScript, no inline style: the admin's Content-Security-Policy forbids it)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from training.charts import COLOURS, _fmt

VERDICT_COLOURS = {"useful": COLOURS[2], "harmful": COLOURS[1], "no measurable value": "#999"}


def ablation_chart_svg(rows: Sequence[dict], metric: str, *, width: int = 560) -> SafeString:
    """One bar per measured source: the change of ``metric`` when it is left out (with minus
    without), its 95 % interval as a whisker, coloured by verdict; biggest value first."""
    shown = sorted((r for r in rows if not r.get("skipped")), key=lambda r: -r["change"])
    left, right, top, bar, gap = 190, 70, 26, 12, 10
    height = top + max(len(shown), 1) * (bar + gap) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="aisle-chart" '
        f'aria-label="value of each data source">',
        f'<text x="8" y="12" font-size="11" fill="#333">{escape(metric)} with the source − '
        "without it, and its 95 % interval</text>",
    ]
    if not shown:
        parts.append(
            f'<text x="{left}" y="{top + 12}" font-size="11" fill="#999">no source '
            "was measured</text></svg>"
        )
        return mark_safe("".join(parts))
    values = [v for r in shown for v in (r["low"], r["high"], r["change"])]
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    if hi == lo:
        hi = lo + 0.01
    inner = width - left - right

    def sx(value: float) -> float:
        return left + (value - lo) / (hi - lo) * inner

    zero = sx(0.0)
    bottom = top + len(shown) * (bar + gap)
    parts.append(
        f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{bottom}" stroke="#555"/>'
    )
    for i, r in enumerate(shown):
        y = top + i * (bar + gap)
        colour = VERDICT_COLOURS.get(r["verdict"], COLOURS[0])
        x0, x1 = sorted((zero, sx(r["change"])))
        parts += [
            f'<text x="{left - 6}" y="{y + bar - 2}" font-size="10" text-anchor="end" '
            f'fill="#333">{escape(r["title"])}</text>',
            f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{bar}" '
            f'fill="{colour}"/>',
            f'<line x1="{sx(r["low"]):.1f}" y1="{y + bar / 2}" x2="{sx(r["high"]):.1f}" '
            f'y2="{y + bar / 2}" stroke="#222"/>',
            f'<line x1="{sx(r["low"]):.1f}" y1="{y + 2}" x2="{sx(r["low"]):.1f}" '
            f'y2="{y + bar - 2}" stroke="#222"/>',
            f'<line x1="{sx(r["high"]):.1f}" y1="{y + 2}" x2="{sx(r["high"]):.1f}" '
            f'y2="{y + bar - 2}" stroke="#222"/>',
            f'<text x="{width - right + 4}" y="{y + bar - 2}" font-size="10" '
            f'fill="#555">{r["change"]:+.3f}</text>',
        ]
    parts += [
        f'<text x="{sx(lo):.1f}" y="{bottom + 14}" font-size="10" fill="#555">{_fmt(lo)}</text>',
        f'<text x="{sx(hi):.1f}" y="{bottom + 14}" font-size="10" text-anchor="end" '
        f'fill="#555">{_fmt(hi)}</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))


def learning_curve_svg(
    curve: dict | None, metric: str, *, width: int = 560, height: int = 200
) -> SafeString:
    """The learning curve: measured points on a log-size axis, the fitted power law, and the
    projected doubling with its interval."""
    left, right, top, bottom = 56, 20, 22, 28
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="aisle-chart" '
        f'aria-label="learning curve">',
        f'<text x="{left}" y="12" font-size="11" fill="#333">{escape(metric)} by training '
        "size (log scale): measured, power-law fit, doubling projected</text>",
    ]
    points = (curve or {}).get("points") or []
    if len(points) < 2:
        parts.append(
            f'<text x="{left}" y="{height / 2}" font-size="11" fill="#999">no '
            "learning curve in this report</text></svg>"
        )
        return mark_safe("".join(parts))
    a, b = curve["a"], curve["b"]
    doubled = curve["doubling_size"]
    largest = points[-1]["size"]
    fitted_last = 1 - a * largest**-b
    projected = fitted_last + curve["doubling_gain"]
    p_low = fitted_last + curve["doubling_interval"][0]
    p_high = fitted_last + curve["doubling_interval"][1]
    xs = [math.log(p["size"]) for p in points] + [math.log(doubled)]
    x0, x1 = min(xs), max(xs)
    ys = [p["metric"] for p in points] + [projected, p_low, p_high, 1 - a * math.exp(x0) ** -b]
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.1 or 0.05
    y0, y1 = y0 - pad, y1 + pad
    inner_w, inner_h = width - left - right, height - top - bottom

    def sx(size: float) -> float:
        return left + (math.log(size) - x0) / ((x1 - x0) or 1) * inner_w

    def sy(value: float) -> float:
        return top + (1 - (value - y0) / (y1 - y0)) * inner_h

    steps = [math.exp(x0 + (x1 - x0) * i / 40) for i in range(41)]
    fit_path = " ".join(
        f"{'M' if i == 0 else 'L'}{sx(n):.1f},{sy(1 - a * n**-b):.1f}" for i, n in enumerate(steps)
    )
    parts += [
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end" '
        f'fill="#555">{_fmt(y1)}</text>',
        f'<text x="{left - 4}" y="{top + inner_h}" font-size="10" text-anchor="end" '
        f'fill="#555">{_fmt(y0)}</text>',
        f'<path d="{fit_path}" fill="none" stroke="{COLOURS[0]}" stroke-width="1.4" '
        'stroke-dasharray="4 3"/>',
    ]
    for p in points:
        parts += [
            f'<circle cx="{sx(p["size"]):.1f}" cy="{sy(p["metric"]):.1f}" r="3" '
            f'fill="{COLOURS[0]}"/>',
            f'<text x="{sx(p["size"]):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="#555">{p["size"]}</text>',
        ]
    dx = sx(doubled)
    parts += [
        f'<line x1="{dx:.1f}" y1="{sy(p_low):.1f}" x2="{dx:.1f}" y2="{sy(p_high):.1f}" '
        f'stroke="{COLOURS[4]}" stroke-width="2"/>',
        f'<circle cx="{dx:.1f}" cy="{sy(projected):.1f}" r="4" fill="none" '
        f'stroke="{COLOURS[4]}" stroke-width="2"/>',
        f'<text x="{dx - 6:.1f}" y="{sy(projected) - 8:.1f}" font-size="10" text-anchor="end" '
        f'fill="{COLOURS[4]}">×2: {curve["doubling_gain"]:+.3f}</text>',
        f'<text x="{dx:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
        f'fill="{COLOURS[4]}">{doubled}</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))
