"""Bought-together associations from baskets, and trending items from recent events."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

import numpy as np

from recommend.engine.fusion import id_sort_key

__all__ = [
    "PopularityTimeline",
    "bought_together",
    "bought_with_any",
    "by_category",
    "complementary_categories",
    "trending",
    "trending_in",
]


def bought_together(
    orders: Iterable[Iterable[Hashable]],
    min_support: int = 3,
    *,
    measure: Literal["lift", "confidence"] = "lift",
    top_n: int = 20,
    max_basket_size: int = 50,
) -> dict[Hashable, list[tuple[Hashable, float]]]:
    """For each item, the items bought with it, best first.

    With ``N`` baskets, ``n(a)`` baskets holding ``a`` and ``n(a, b)`` holding both:

    - ``"confidence"``: ``P(b | a) = n(a, b) / n(a)``, "of the baskets with a, the share that
      also hold b". Easy to read, but it favours bestsellers that go with everything.
    - ``"lift"`` (default): ``P(b | a) / P(b) = n(a, b) * N / (n(a) * n(b))``, how much more
      often b is bought with a than at random. It corrects the bestseller bias and overrates
      rare pairs, which ``min_support`` (minimum ``n(a, b)``) keeps in check.

    Items repeated in a basket count once. Every basket counts toward ``N`` and ``n(a)``,
    but baskets with more than ``max_basket_size`` distinct items (bulk or B2B orders) add
    no pairs: they say little about what goes together and cost quadratic time. Ties are
    broken by support, then id.
    """
    if min_support < 1:
        raise ValueError(f"min_support must be >= 1, got {min_support}")
    if measure not in ("lift", "confidence"):
        raise ValueError(f"measure must be 'lift' or 'confidence', got {measure!r}")
    baskets = 0
    item_counts: Counter[Hashable] = Counter()
    pair_counts: Counter[tuple[Hashable, Hashable]] = Counter()
    for order in orders:
        items = sorted(set(order), key=id_sort_key)
        if not items:
            continue
        baskets += 1
        item_counts.update(items)
        if len(items) <= max_basket_size:
            pair_counts.update(itertools.combinations(items, 2))

    related: dict[Hashable, list[tuple[Hashable, float, int]]] = {}
    for (a, b), support in pair_counts.items():
        if support < min_support:
            continue
        for x, y in ((a, b), (b, a)):
            if measure == "confidence":
                score = support / item_counts[x]
            else:
                score = support * baskets / (item_counts[x] * item_counts[y])
            related.setdefault(x, []).append((y, score, support))
    result: dict[Hashable, list[tuple[Hashable, float]]] = {}
    for item in sorted(related, key=id_sort_key):
        ranked = sorted(related[item], key=lambda t: (-t[1], -t[2], id_sort_key(t[0])))
        result[item] = [(other, score) for other, score, _ in ranked[:top_n]]
    return result


def complementary_categories(
    baskets: Iterable[Iterable[Hashable]],
    ancestors: Mapping[Hashable, Sequence[Hashable]],
    min_support: int = 3,
    *,
    top_n: int = 10,
) -> dict[Hashable, list[tuple[Hashable, float]]]:
    """For each category, the categories bought with it, by lift, best first: the co-purchase
    graph one level up, so a product nobody has bought with anything yet still has
    complements ("phone cases" for any new phone).

    ``baskets`` hold the categories of the products of one basket; ``ancestors`` maps a
    category to itself and its parents. A category's own ancestors and descendants are not
    its complements (a basket of two shirts says nothing about what goes with shirts), so
    they are dropped; otherwise the scores are :func:`bought_together`'s lift.
    """
    together = bought_together(
        baskets, min_support, measure="lift", top_n=top_n + 20, max_basket_size=50
    )
    result: dict[Hashable, list[tuple[Hashable, float]]] = {}
    for category, related in together.items():
        mine = set(ancestors.get(category, (category,)))
        kept = [
            (other, score)
            for other, score in related
            if other not in mine and category not in ancestors.get(other, (other,))
        ]
        if kept:
            result[category] = kept[:top_n]
    return result


def bought_with_any(
    seeds: Iterable[Hashable], table: Mapping[Hashable, Sequence[tuple[Hashable, float]]], k: int
) -> list[tuple[Hashable, float]]:
    """Items bought together with any of ``seeds`` (a shopper's recent purchases), scored by
    their best ``1 / rank`` in a seed's ``bought_together`` list, best first."""
    scored: dict[Hashable, float] = {}
    for seed in seeds:
        for rank, (item, _lift) in enumerate(table.get(seed, ()), start=1):
            scored[item] = max(scored.get(item, 0.0), 1.0 / rank)
    return sorted(scored.items(), key=lambda t: (-t[1], id_sort_key(t[0])))[:k]


def by_category(
    ranked: Iterable[tuple[Hashable, float]],
    category_of: Mapping[Hashable, Hashable],
    ancestors: Callable[[Hashable], Iterable[Hashable]],
    per_category: int,
) -> dict[Hashable, list[tuple[Hashable, float]]]:
    """A ranked list split per category subtree: each item goes to its category and every
    ancestor (``ancestors(category)`` includes the category itself), at most ``per_category``
    items each, in the list's order."""
    out: dict[Hashable, list[tuple[Hashable, float]]] = {}
    for item, score in ranked:
        category = category_of.get(item)
        for ancestor in ancestors(category) if category is not None else ():
            bucket = out.setdefault(ancestor, [])
            if len(bucket) < per_category:
                bucket.append((item, score))
    return out


def trending_in(
    by_category: Mapping[Hashable, Sequence[tuple[Hashable, float]]],
    interests: Mapping[Hashable, float],
    k: int,
) -> list[tuple[Hashable, float]]:
    """Trending items of a shopper's categories, interleaved by interest share: an item scores
    its category's share / its rank in that category's trending list (best over categories)."""
    scored: dict[Hashable, float] = {}
    for category, share in interests.items():
        for rank, (item, _score) in enumerate(by_category.get(category, ())[:k], start=1):
            scored[item] = max(scored.get(item, 0.0), share / rank)
    return sorted(scored.items(), key=lambda t: (-t[1], id_sort_key(t[0])))[:k]


def _seconds(moment: datetime | float | int) -> float:
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: pass timezone-aware datetimes or epoch seconds")
        return moment.timestamp()
    return float(moment)


def trending(
    events: Iterable[tuple[Hashable, datetime | float, float]],
    now: datetime | float,
    half_life_hours: float = 24.0,
    *,
    top_n: int | None = None,
) -> list[tuple[Hashable, float]]:
    """Items by exponentially decayed engagement: ``sum weight * 0.5 ** (age_h / half_life)``.

    ``events`` are ``(item, timestamp, weight)`` with aware datetimes or epoch seconds; use
    event-type weights (e.g. :data:`recommend.engine.profiles.EVENT_WEIGHTS`). Future
    timestamps count as now. Highest score first, ties by id.
    """
    if half_life_hours <= 0:
        raise ValueError(f"half_life_hours must be > 0, got {half_life_hours}")
    now_s = _seconds(now)
    scores: dict[Hashable, float] = {}
    for item, moment, weight in events:
        age_hours = max(0.0, now_s - _seconds(moment)) / 3600.0
        scores[item] = scores.get(item, 0.0) + float(weight) * math.exp2(
            -age_hours / half_life_hours
        )
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], id_sort_key(kv[0])))
    return ranked if top_n is None else ranked[: max(0, top_n)]


class PopularityTimeline:
    """Each item's popularity as it stood at any past moment, for training on logged lists.

    Serving reads popularity as ``log1p(sum weight * 0.5 ** (age_h / half_life))`` over the
    events of the last ``window_days`` (the aggregates' formula). A model trained on old lists
    must see the popularity of *that* moment: today's value counts the very clicks the model
    learns to predict, and everything after them (a leak that flatters offline metrics).
    :meth:`at` counts only the events strictly before the moment.
    """

    def __init__(
        self,
        events: Iterable[tuple[Hashable, datetime | float, float]],
        *,
        window_days: float,
        half_life_hours: float,
    ) -> None:
        if half_life_hours <= 0 or window_days <= 0:
            raise ValueError("window_days and half_life_hours must be > 0")
        self.window_s = float(window_days) * 86_400.0
        self.half_life_s = float(half_life_hours) * 3_600.0
        grouped: dict[Hashable, list[tuple[float, float]]] = {}
        for item, moment, weight in events:
            grouped.setdefault(item, []).append((_seconds(moment), float(weight)))
        self._items: dict[Hashable, tuple[np.ndarray, np.ndarray]] = {}
        for item, pairs in grouped.items():
            pairs.sort()
            array = np.asarray(pairs, dtype=np.float64)
            self._items[item] = (array[:, 0], array[:, 1])

    def score(self, item: Hashable, moment: datetime | float) -> float:
        """The decayed engagement of ``item`` just before ``moment`` (0 when none)."""
        found = self._items.get(item)
        if found is None:
            return 0.0
        times, weights = found
        now = _seconds(moment)
        lo = int(np.searchsorted(times, now - self.window_s, side="right"))
        hi = int(np.searchsorted(times, now, side="left"))
        if hi <= lo:
            return 0.0
        ages = now - times[lo:hi]
        return float(np.dot(weights[lo:hi], np.exp2(-ages / self.half_life_s)))

    def at(self, items: Iterable[Hashable], moment: datetime | float) -> dict[Hashable, float]:
        """``{item: log1p(score)}`` at ``moment`` for the items with any engagement before it."""
        out: dict[Hashable, float] = {}
        for item in items:
            value = self.score(item, moment)
            if value > 0:
                out[item] = math.log1p(value)
        return out
