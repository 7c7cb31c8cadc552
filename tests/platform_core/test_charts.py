"""The inline-SVG sparkline tag: points scaled into the box, gaps for missing values, nothing for
an empty series, and no inline style (the Content-Security-Policy forbids it)."""

from __future__ import annotations

import math

from django.template import Context, Template

from platform_core.templatetags.aisle_charts import sparkline, sparkline_points


def test_points_span_the_box_from_min_at_the_bottom_to_max_at_the_top():
    (line,) = sparkline_points([1, 3, 2], width=104, height=24, pad=2)
    assert line == [(2.0, 22.0), (52.0, 2.0), (102.0, 12.0)]


def test_flat_single_and_missing_values():
    (flat,) = sparkline_points([5, 5], width=100, height=20, pad=0)
    assert [y for _, y in flat] == [10.0, 10.0]  # a flat series sits mid-height
    (single,) = sparkline_points([7], width=100, height=20, pad=0)
    assert single == [(50.0, 10.0)]
    segments = sparkline_points([1, None, math.nan, 2, 3], width=100, height=20, pad=0)
    assert [len(s) for s in segments] == [1, 2]  # a gap breaks the line
    assert sparkline_points([], width=100, height=20) == []
    assert sparkline_points([None, "x"], width=100, height=20) == []


def test_tag_renders_inline_svg_without_style():
    html = Template("{% load aisle_charts %}{% sparkline values label='CTR' %}").render(
        Context({"values": [0.1, 0.2, 0.15]})
    )
    assert html.startswith('<svg class="aisle-spark"') and 'aria-label="CTR"' in html
    assert html.count("<polyline") == 1 and "<circle" in html and "style" not in html
    assert str(sparkline([])) == ""
