"""The cumulative-lift chart as an inline SVG string (plain Python; no JavaScript library).

Each series is a variant's relative lift over the control at successive cumulative looks,
drawn as a line inside its shaded confidence band, with the zero line for reference: the
band narrowing around a line that stays clear of zero is what a winner looks like.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["COLOURS", "LiftSeries", "lift_chart_svg"]

COLOURS = ("#2a7ab0", "#c0392b", "#27ae60", "#8e44ad", "#d35400")


@dataclass(frozen=True)
class LiftSeries:
    """``points`` are ``(x index, lift, ci_low, ci_high)`` with lifts as fractions."""

    name: str
    points: Sequence[tuple[int, float, float, float]]


def _pct(value: float) -> str:
    if abs(value) < 1e-9:
        return "0%"
    return f"{value * 100:+.0f}%" if abs(value) >= 0.1 else f"{value * 100:+.1f}%"


def _nice_step(span: float) -> float:
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 0.01
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def lift_chart_svg(
    series: Sequence[LiftSeries],
    x_labels: Sequence[str],
    *,
    width: int = 720,
    height: int = 260,
    title: str = "Cumulative lift over the control",
) -> str:
    """An SVG chart of the lift series; ``x_labels[i]`` names look ``i`` (e.g. a date)."""
    left, right, top, bottom = 58, 16, 28, 38
    inner_w, inner_h = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'class="aisle-chart-plain" font-family="sans-serif">',  # no style="" (CSP): aisle/admin.css
        f'<text x="{left}" y="16" font-size="12" fill="#333">{escape(title)}</text>',
    ]
    finite = [
        (x, v, lo, hi)
        for s in series
        for x, v, lo, hi in s.points
        if all(math.isfinite(n) for n in (v, lo, hi))
    ]
    if not finite or len(x_labels) == 0:
        out.append(
            f'<text x="{left}" y="{top + inner_h / 2:.0f}" font-size="12" fill="#999">'
            "No comparable data yet: the chart appears once both variants have exposed shoppers.</text>"
        )
        out.append("</svg>")
        return "".join(out)
    lows = [lo for _, _, lo, _ in finite] + [0.0]
    highs = [hi for _, _, _, hi in finite] + [0.0]
    y0, y1 = min(lows), max(highs)
    # keep wildly wide early intervals from flattening the rest of the chart
    cap = max(abs(v) for _, v, _, _ in finite) * 4 + 0.05
    y0, y1 = max(y0, -cap), min(y1, cap)
    pad = (y1 - y0) * 0.08 or 0.05
    y0, y1 = y0 - pad, y1 + pad
    x_max = max(len(x_labels) - 1, 1)

    def sx(x: float) -> float:
        return left + x / x_max * inner_w

    def sy(y: float) -> float:
        y = min(max(y, y0), y1)
        return top + (1 - (y - y0) / (y1 - y0)) * inner_h

    step = _nice_step(y1 - y0)
    tick = math.ceil(y0 / step) * step
    while tick <= y1 + 1e-12:
        y = sy(tick)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + inner_w}" y2="{y:.1f}" stroke="#eee"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y + 3:.1f}" font-size="10" text-anchor="end" fill="#555">'
            f"{_pct(tick)}</text>"
        )
        tick += step
    out.append(
        f'<line x1="{left}" y1="{sy(0):.1f}" x2="{left + inner_w}" y2="{sy(0):.1f}" '
        'stroke="#555" stroke-dasharray="4 3"/>'
    )
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="#999"/>')
    label_every = max(1, math.ceil(len(x_labels) / 8))
    for i, text in enumerate(x_labels):
        if i % label_every == 0 or i == len(x_labels) - 1:
            out.append(
                f'<text x="{sx(i):.1f}" y="{top + inner_h + 16}" font-size="10" text-anchor="middle" '
                f'fill="#555">{escape(text)}</text>'
            )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        pts = [
            (x, v, lo, hi)
            for x, v, lo, hi in s.points
            if all(math.isfinite(k) for k in (v, lo, hi))
        ]
        if not pts:
            continue
        upper = " ".join(f"{sx(x):.1f},{sy(hi):.1f}" for x, _, _, hi in pts)
        lower = " ".join(f"{sx(x):.1f},{sy(lo):.1f}" for x, _, lo, _ in reversed(pts))
        out.append(
            f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.15" stroke="none"/>'
        )
        line = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(v):.1f}" for i, (x, v, _, _) in enumerate(pts)
        )
        out.append(f'<path d="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        x, v, lo, hi = pts[-1]
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(v):.1f}" r="3" fill="{colour}"/>')
        out.append(
            f'<text x="{left + inner_w}" y="{16 + 13 * n}" font-size="11" text-anchor="end" fill="{colour}">'
            f"{escape(s.name)}: {_pct(v)} [{_pct(lo)}, {_pct(hi)}]</text>"
        )
    out.append(
        f'<text x="{left}" y="{height - 4}" font-size="10" fill="#777">Line: lift of the cumulative data '
        "up to each point; band: its confidence interval; dashed: no difference.</text>"
    )
    out.append("</svg>")
    return "".join(out)
