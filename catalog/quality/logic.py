"""The rules of the data quality checks, in plain Python (no Django): rows in, findings out.

Every check returns a :class:`CheckResult`: how many items it found, a bounded list of examples
for the report page and the ids of what it found (bounded too) for the fix actions.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

# Iglewicz & Hoaglin: |modified z| > 3.5 marks an outlier; 0.6745 makes MAD comparable to σ.
Z_THRESHOLD = 3.5
MAD_SCALE = 0.6745
# When more than half the values are equal (MAD = 0), the mean absolute deviation stands in,
# scaled to σ of a normal distribution (1.2533 = sqrt(pi/2)).
MEAN_AD_SCALE = 0.7979

MAX_EXAMPLES = 20
MAX_SUBJECT_IDS = 5000

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_ACCENTS = re.compile("[\u0300-\u036f]+")


@dataclass
class CheckResult:
    """One check's findings. ``subject`` says what ``ids`` are: product, shopper, event,
    category or group (duplicate groups: ``ids`` holds lists of product ids)."""

    name: str
    label: str
    subject: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    ids: list[Any] = field(default_factory=list)
    note: str = ""
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "subject": self.subject,
            "count": self.count,
            "examples": self.examples,
            "ids": self.ids,
            "note": self.note,
            "skipped": self.skipped,
        }


def normalise_title(title: str) -> str:
    """Case, accents, punctuation and spacing folded: "Blue  T-Shirt!" == "blue t shirt"."""
    text = (title or "").casefold()
    if text.isascii():
        return " ".join(_NON_WORD.sub(" ", text).split())
    # Latin accents only (U+0300–U+036F): other scripts' combining marks (Devanagari vowel
    # signs, …) carry meaning, so they are kept as part of their word.
    text = _ACCENTS.sub("", unicodedata.normalize("NFKD", text))
    kept = (ch if ch.isalnum() or unicodedata.category(ch)[0] == "M" else " " for ch in text)
    return " ".join("".join(kept).split())


def duplicate_title_groups(rows: Iterable[tuple[int, str]]) -> list[list[int]]:
    """Groups (two or more product ids, ascending) whose titles normalise to the same text;
    the largest groups first. Empty titles are the short-text check's business."""
    by_title: dict[str, list[int]] = defaultdict(list)
    for pk, title in rows:
        key = normalise_title(title)
        if key:
            by_title[key].append(pk)
    groups = [sorted(ids) for ids in by_title.values() if len(ids) > 1]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def near_duplicate_groups(
    pairs: Iterable[tuple[int, int, float]], *, exact_groups: Sequence[Sequence[int]] = ()
) -> list[tuple[list[int], float]]:
    """Connected groups of products joined by (product, nearest neighbour, cosine) pairs
    above the threshold (the caller's SQL applies it), with each group's highest cosine.
    Pairs already inside one exact-title group are left out: that check reports them."""
    exact = {pk: i for i, group in enumerate(exact_groups) for pk in group}
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    best: dict[frozenset[int], float] = {}
    for a, b, cosine in pairs:
        if a == b or (a in exact and exact.get(b) == exact[a]):
            continue
        key = frozenset((a, b))
        best[key] = max(best.get(key, -1.0), float(cosine))
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = defaultdict(list)
    for pk in parent:
        members[find(pk)].append(pk)
    top: dict[int, float] = defaultdict(float)
    for key, cosine in best.items():
        root = find(next(iter(key)))
        top[root] = max(top[root], cosine)
    groups = [(sorted(ids), round(top[root], 4)) for root, ids in members.items()]
    return sorted(groups, key=lambda g: (-g[1], g[0][0]))


def robust_z(values: Sequence[float]) -> list[float]:
    """Modified z-scores (median / MAD). With MAD = 0 the scaled mean absolute deviation is
    used; when every value is equal all scores are 0."""
    if not values:
        return []
    mid = median(values)
    deviations = [abs(v - mid) for v in values]
    mad = median(deviations)
    if mad > 0:
        return [MAD_SCALE * (v - mid) / mad for v in values]
    mean_ad = sum(deviations) / len(deviations)
    if mean_ad == 0:
        return [0.0] * len(values)
    return [MEAN_AD_SCALE * (v - mid) / mean_ad for v in values]


@dataclass(frozen=True)
class PriceOutlier:
    product_id: int
    category_id: int
    price: float
    category_median: float
    z: float


def price_outliers(
    rows: Iterable[tuple[int, int, float]],
    *,
    threshold: float = Z_THRESHOLD,
    min_category_size: int = 8,
) -> list[PriceOutlier]:
    """Products whose price is far from their category's: robust z-score of log(1 + price)
    within each category (prices are multiplicative: a €5 cable and a €500 TV share a
    category's spread only on a log scale). Categories with fewer than ``min_category_size``
    priced products are not judged. Most extreme first."""
    by_category: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for pk, category, price in rows:
        if category is not None and price is not None:
            by_category[category].append((pk, float(price)))
    out: list[PriceOutlier] = []
    for category, items in by_category.items():
        if len(items) < min_category_size:
            continue
        logs = [math.log1p(max(price, 0.0)) for _, price in items]
        mid = median(price for _, price in items)
        for (pk, price), z in zip(items, robust_z(logs), strict=True):
            if abs(z) > threshold:
                out.append(PriceOutlier(pk, category, price, mid, round(z, 2)))
    return sorted(out, key=lambda o: (-abs(o.z), o.product_id))


@dataclass(frozen=True)
class BotShopper:
    shopper_id: int
    peak: int
    store_median: float
    z: float


def bot_like_shoppers(
    peaks: Iterable[tuple[int, int]],
    *,
    threshold: float = Z_THRESHOLD,
    min_peak: int = 50,
    min_ratio: float = 10.0,
) -> list[BotShopper]:
    """Shoppers whose busiest hour (``(shopper, events in their busiest hour)``) is far above
    the store's: a robust z-score of log(peak) above ``threshold``, at least ``min_peak``
    events in that hour and at least ``min_ratio`` times the store's median peak — so a
    store where everyone has one event a day does not flag its few keen shoppers."""
    items = [(shopper, int(peak)) for shopper, peak in peaks if peak]
    if not items:
        return []
    mid = median(peak for _, peak in items)
    zs = robust_z([math.log(peak) for _, peak in items])
    out = [
        BotShopper(shopper, peak, mid, round(z, 2))
        for (shopper, peak), z in zip(items, zs, strict=True)
        if z > threshold and peak >= min_peak and peak >= min_ratio * mid
    ]
    return sorted(out, key=lambda b: (-b.peak, b.shopper_id))


def orphan_categories(
    categories: Iterable[tuple[int, str]], used_category_ids: Iterable[int]
) -> list[int]:
    """Categories (``(id, path)``, path = external ids joined by '/') with no active product
    anywhere in their subtree."""
    categories = list(categories)
    used = set(used_category_ids)
    covered: set[str] = set()
    for pk, path in categories:
        if pk in used:
            parts = path.split("/")
            covered.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(pk for pk, path in categories if path not in covered)
