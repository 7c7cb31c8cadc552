"""Server-side SVG charts for the admin report (no JavaScript chart library). Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float | None]  # 0..1 per group; None = no data (drawn as a dash)


def grouped_bar_chart(
    *,
    groups: Sequence[str],
    series: Sequence[Series],
    title: str,
    width: int = 760,
    height: int = 300,
) -> str:
    """A grouped bar chart of rates (0–100%) as an accessible inline SVG string."""
    left, right, top, bottom = 44, 12, 34, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    n_groups, n_series = max(1, len(groups)), max(1, len(series))
    group_w = plot_w / n_groups
    bar_w = min(40.0, (group_w * 0.8) / n_series)
    parts = [
        # presentation attributes and a class, no style="" (Content-Security-Policy)
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        'class="aisle-fluid-svg" font-family="system-ui,sans-serif" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">'
        + escape(
            "; ".join(
                f"{g}: " + ", ".join(f"{s.name} {_fmt(s.values[i])}" for s in series)
                for i, g in enumerate(groups)
            )
        )
        + "</desc>",
    ]
    for tick in range(0, 101, 25):
        y = top + plot_h * (1 - tick / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ee"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#6b7285">{tick}%</text>'
        )
    for gi, group in enumerate(groups):
        gx = left + gi * group_w + (group_w - bar_w * n_series) / 2
        for si, s in enumerate(series):
            value = s.values[gi] if gi < len(s.values) else None
            x = gx + si * bar_w
            if value is None:
                y = top + plot_h - 2
                parts.append(
                    f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bar_w - 6:.1f}" height="2" fill="#cfd4e0"/>'
                )
                continue
            h = max(0.0, min(1.0, value)) * plot_h
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                f'rx="3" fill="{s.colour}"><title>{escape(f"{group} — {s.name}: {_fmt(value)}")}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" font-size="10" text-anchor="middle" '
                f'fill="#4a5163">{_fmt(value)}</text>'
            )
        label = group if len(group) <= 22 else group[:21] + "…"
        parts.append(
            f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{top + plot_h + 18}" font-size="11" '
            f'text-anchor="middle" fill="#1b1f2a">{escape(label)}</text>'
        )
    lx = left
    for s in series:
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="2" fill="{s.colour}"/>')
        parts.append(
            f'<text x="{lx + 17}" y="18" font-size="12" fill="#1b1f2a">{escape(s.name)}</text>'
        )
        lx += 26 + 7 * len(s.name)
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9aa1b4"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float | None) -> str:
    return "no data" if value is None else f"{100 * value:.0f}%"
