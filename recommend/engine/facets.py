"""Facet counts (category, brand, price ranges) over a candidate list."""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from recommend.engine.text import normalise

__all__ = ["compute_facets", "nice_round", "nice_step", "price_buckets"]


def nice_step(width: float) -> float:
    """The 1-2-5 series number nearest ``width``: 0.7 -> 0.5, 37 -> 50, 140 -> 100."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    magnitude = 10 ** math.floor(math.log10(width))
    mantissa = width / magnitude
    factor = 1 if mantissa < 1.5 else 2 if mantissa < 3.5 else 5 if mantissa < 7.5 else 10
    return factor * magnitude


def nice_round(value: float, mode: str = "nearest", *, step: float | None = None) -> float:
    """Round ``value`` to a multiple of ``step``, by default half its decimal magnitude
    (15 -> 15, 37 -> 35, 240 -> 250, 3.7 -> 3.5).

    ``mode`` is "nearest", "down" or "up". Zero and negative values give 0.
    """
    if value <= 0:
        return 0.0
    if step is None:
        step = 10 ** math.floor(math.log10(value)) / 2
    ratio = value / step
    if mode == "down":
        units = math.floor(ratio + 1e-9)
    elif mode == "up":
        units = math.ceil(ratio - 1e-9)
    else:
        units = math.floor(ratio + 0.5)
    return float(round(units * step, 10))


def _edge(value: float, mode: str, spread_step: float, coarse: bool) -> float:
    """Round an edge to its own magnitude, but never coarser than the spread allows."""
    if value <= 0:
        return 0.0
    own = 10 ** math.floor(math.log10(value)) / (1 if coarse else 2)
    return nice_round(value, mode, step=min(own, spread_step))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """numpy.quantile(ordered, q) with its default method ("linear"), the same float."""
    index = (len(ordered) - 1) * q
    if index >= len(ordered) - 1:
        return ordered[-1]
    below = math.floor(index)
    t = index - below
    a, b = ordered[below], ordered[below + 1]
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def price_buckets(prices: Sequence[float], max_buckets: int = 5) -> list[dict[str, float | int]]:
    """Split prices into at most ``max_buckets`` ranges with round edges.

    Inner edges are the candidates' quantiles (so each bucket holds a similar share of
    them), rounded to half their decimal magnitude (37 -> 35, 240 -> 250); the outer edges
    round the minimum down and the maximum up to a whole magnitude (3.99 -> 3, 731 -> 800).
    No edge is rounded coarser than a tenth of the price spread (on the 1-2-5 series), so a
    narrow range such as 1,000-1,500 still splits (1,100, 1,200, ...). Each bucket is ``{"min", "max", "count"}`` covering ``min <= price < max``
    (the last one includes its max); empty buckets are merged into their neighbour.
    """
    if max_buckets < 1:
        raise ValueError(f"max_buckets must be >= 1, got {max_buckets}")
    # Plain Python on a sorted list, as numpy's quantile (method "linear") and histogram compute
    # them, to the last bit: a search's few hundred prices cost less than numpy's set-up.
    values = sorted(v for v in map(float, prices) if math.isfinite(v) and v >= 0)
    if not values:
        return []
    low, high = values[0], values[-1]
    if low == high:
        return [{"min": low, "max": high, "count": len(values)}]
    # a narrow range (1000-1500) needs finer steps than its magnitude (500) suggests
    spread_step = nice_step((high - low) / (2 * max_buckets))
    lo_edge = _edge(low, "down", spread_step, coarse=True)
    hi_edge = _edge(high, "up", spread_step, coarse=True)
    quantiles = [_quantile(values, i / max_buckets) for i in range(1, max_buckets)]
    inner = sorted({_edge(q, "nearest", spread_step, coarse=False) for q in quantiles})
    edges = [lo_edge, *(e for e in inner if lo_edge < e < hi_edge), hi_edge]
    # min <= price < max per bucket, the last one closed (numpy.histogram's bins)
    below = [bisect.bisect_left(values, e) for e in edges[:-1]]
    below.append(bisect.bisect_right(values, edges[-1]))
    counts = [below[i + 1] - below[i] for i in range(len(edges) - 1)]
    buckets: list[dict[str, float | int]] = []
    for i, count in enumerate(counts):
        if count == 0 and buckets:
            buckets[-1]["max"] = edges[i + 1]
        elif count == 0:
            continue  # a leading empty bucket: the next one starts lower instead
        else:
            start = buckets[-1]["max"] if buckets else edges[0]
            buckets.append({"min": start, "max": edges[i + 1], "count": count})
    if buckets:
        buckets[0]["min"] = edges[0]
    return buckets


@functools.lru_cache(maxsize=8192)
def _brand_forms(brand: str) -> tuple[str, str] | None:
    """A brand's grouping key (its normalised form) and its spelling (whitespace collapsed), or
    None when blank: a catalogue's brands are few and repeat in every search's candidates, and
    normalising one was most of what counting it cost."""
    if not brand.strip():
        return None
    return normalise(brand), " ".join(brand.split())


def compute_facets(
    candidates: Iterable[tuple[Hashable | None, str | None, float | Decimal | None]],
    *,
    category_names: Mapping[Hashable, str] | None = None,
    max_price_buckets: int = 5,
    top_n: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Count categories, brands and price ranges over ``(category_id, brand, price)`` rows.

    Returns ``{"category": [{"id", "name", "count"}], "brand": [{"name", "count"}], "price":
    [{"min", "max", "count"}]}``. Categories and brands are sorted by count, then name, and
    cut to ``top_n`` when given. Brands are grouped case- and width-insensitively and shown
    in their most frequent spelling. ``None`` values are skipped per facet.
    """
    names = category_names or {}
    # Counted as given first (a search's candidates repeat a few categories and brands), then
    # each distinct brand grouped once.
    categories: dict[Hashable, int] = {}
    given_brands: dict[str, int] = {}
    prices: list[float] = []
    for category_id, brand, price in candidates:
        if category_id is not None:
            categories[category_id] = categories.get(category_id, 0) + 1
        if brand is not None:
            given_brands[brand] = given_brands.get(brand, 0) + 1
        if price is not None:
            prices.append(float(price))
    brand_counts: dict[str, int] = {}
    spellings: dict[str, dict[str, int]] = {}  # {grouping key: {spelling: count}}, first seen first
    for brand, n in given_brands.items():  # in order of first appearance, as before grouping
        forms = _brand_forms(brand)
        if forms is not None:
            key, spelling = forms
            brand_counts[key] = brand_counts.get(key, 0) + n
            seen = spellings.get(key)
            if seen is None:
                spellings[key] = {spelling: n}
            else:
                seen[spelling] = seen.get(spelling, 0) + n

    # by count, then by name, then by id; rows built for the shown ones only
    shown = sorted(
        categories.items(), key=lambda kv: (-kv[1], str(names.get(kv[0], kv[0])), str(kv[0]))
    )
    # by count, then by the grouping key (every spelling of a brand normalises to it); each
    # shown brand in its most frequent spelling
    ranked = sorted(brand_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if top_n is not None:
        shown, ranked = shown[:top_n], ranked[:top_n]
    category_facet = [{"id": cid, "name": names.get(cid, str(cid)), "count": n} for cid, n in shown]
    # the most frequent spelling, the first seen among equals (as Counter.most_common)
    brand_facet = [
        {"name": max(spellings[key].items(), key=lambda kv: kv[1])[0], "count": n}
        for key, n in ranked
    ]
    return {
        "category": category_facet,
        "brand": brand_facet,
        "price": price_buckets(prices, max_price_buckets),
    }
