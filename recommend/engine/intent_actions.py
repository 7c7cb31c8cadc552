"""Intent that acts: how a search's intent reorders its results (plain Python, no Django).

Each strategy maps an intent label to a :class:`Behaviour` (editable in the admin as
``recommend.IntentBehaviour`` rows; :data:`DEFAULTS` when a label has none):

- **buy** — favour products in stock, with a high purchase propensity (purchases per view, from
  the aggregates) and a price matching the shopper's usual band for the product's category (the
  query's own band — the price filter, else the middle half of the top candidates' prices in
  that category — for an unknown shopper);
- **review** (research) — favour products with many ratings and a high review score (a
  Bayesian mean over the aggregates' rating counts), and include review snippets;
- **browse** — spread the first results across brands and categories;
- **support** — no reordering; the answers block reads ``answers_first`` (the hook for the
  answers issue).

Only the first ``window`` candidates move: each gets ``(1 - strength) × relevance + strength ×
intent signal``, where relevance falls from 1 at the first place by 1/:data:`RELEVANCE_SPAN`
per place of the incoming order, and the intent signal is the weighted mean of the behaviour's
signals (each in [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

#: Prior of the Bayesian rating mean: ``RATING_PRIOR_COUNT`` ratings of ``RATING_PRIOR_MEAN``.
RATING_PRIOR_MEAN = 3.0
RATING_PRIOR_COUNT = 5
#: Purchase propensity smoothing: (purchases + a) / (views + b).
PROPENSITY_PRIOR = (0.5, 20.0)
#: How fast the price match decays outside the band (per unit of log price ratio).
PRICE_DECAY = 2.0
#: Relevance falls from 1 (first place) to 0 over this many places, whatever the list's length:
#: at strength 0.5 a full difference in the intent signal moves an item up to 20 places.
RELEVANCE_SPAN = 20
#: Browse: relevance lost per earlier result sharing the brand / the category.
BROWSE_PENALTY = 0.15


@dataclass(frozen=True)
class Behaviour:
    """What one intent does to a strategy's results (weights are relative to each other)."""

    in_stock: float = 0.0
    purchase_propensity: float = 0.0
    price_match: float = 0.0
    rating: float = 0.0
    strength: float = 0.0
    diversify: bool = False
    review_snippets: bool = False
    answers_first: bool = False

    def reorders(self) -> bool:
        weights = (self.in_stock, self.purchase_propensity, self.price_match, self.rating)
        return self.diversify or (self.strength > 0 and any(w > 0 for w in weights))


DEFAULTS: dict[str, Behaviour] = {
    "buy": Behaviour(in_stock=1.0, purchase_propensity=0.5, price_match=0.5, strength=0.5),
    "review": Behaviour(rating=1.0, strength=0.5, review_snippets=True),
    "browse": Behaviour(diversify=True),
    "support": Behaviour(answers_first=True),
}


@dataclass(frozen=True)
class Candidate:
    """What the intent signals need to know about one candidate."""

    id: Hashable
    in_stock: bool
    price: float
    category: Hashable | None
    brand: str | None


@dataclass
class Signals:
    """Store-wide and shopper signals: ``ratings`` ``{id: (count, mean)}``, ``propensity``
    ``{id: (purchases, views)}``, ``bands`` ``{category: (low, high)}`` (the shopper's or the
    query's usual price band per category; ``None`` key: any category)."""

    ratings: Mapping[Hashable, tuple[int, float]] = field(default_factory=dict)
    propensity: Mapping[Hashable, tuple[int, int]] = field(default_factory=dict)
    bands: Mapping[Hashable, tuple[float, float]] = field(default_factory=dict)
    band_source: str = "query"


@dataclass(frozen=True)
class Moved:
    """Why intent moved an item: its place before and after (1-based), and the reasons."""

    before: int
    after: int
    reasons: tuple[str, ...]

    def as_dict(self, label: str) -> dict:
        direction = "up" if self.after < self.before else "down"
        return {
            "label": label,
            "moved": direction,
            "from": self.before,
            "to": self.after,
            "because": list(self.reasons),
        }


def bayes_rating(count: int, mean: float) -> float:
    """The rating mean pulled towards the prior for few ratings, scaled to [0, 1]."""
    value = (count * mean + RATING_PRIOR_COUNT * RATING_PRIOR_MEAN) / (count + RATING_PRIOR_COUNT)
    return min(1.0, max(0.0, (value - 1.0) / 4.0))


def price_match(price: float, band: tuple[float, float] | None) -> float:
    """1 inside the band, decaying with the log ratio to the nearest edge outside it."""
    if band is None or price <= 0:
        return 0.5
    low, high = band
    if low <= price <= high:
        return 1.0
    edge = low if price < low else high
    if edge <= 0:
        return 0.5
    return math.exp(-PRICE_DECAY * abs(math.log(price / edge)))


def query_bands(
    candidates: Sequence[Candidate], top: int = 20, price_range: tuple[float, float] | None = None
) -> dict[Hashable, tuple[float, float]]:
    """The query's price band per category: the price filter when it has both ends, else the
    middle half (quartiles) of the first ``top`` candidates' prices in each category."""
    if price_range is not None:
        return {None: price_range}
    by_category: dict[Hashable, list[float]] = {}
    for item in candidates:
        prices = by_category.setdefault(item.category, [])
        if len(prices) < top and item.price > 0:
            prices.append(item.price)
    bands = {}
    for category, prices in by_category.items():
        if len(prices) >= 2:
            ordered = sorted(prices)
            bands[category] = (_quantile(ordered, 0.25), _quantile(ordered, 0.75))
    return bands


def shopper_bands(
    history: Sequence[tuple[Hashable, float]], spread: float = 0.35
) -> dict[Hashable, tuple[float, float]]:
    """A shopper's usual band per category from the prices they engaged with ``(category,
    price)``: their median price ± ``spread`` (a factor), widened to the prices they paid."""
    by_category: dict[Hashable, list[float]] = {}
    for category, price in history:
        if price > 0:
            by_category.setdefault(category, []).append(price)
    bands = {}
    for category, prices in by_category.items():
        ordered = sorted(prices)
        median = _quantile(ordered, 0.5)
        bands[category] = (
            min(ordered[0], median * (1 - spread)),
            max(ordered[-1], median * (1 + spread)),
        )
    return bands


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = int(math.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _signals_of(
    item: Candidate, behaviour: Behaviour, signals: Signals, max_propensity: float
) -> tuple[float, list[str]]:
    """The item's intent signal in [0, 1] and the reasons worth telling the shopper."""
    parts: list[tuple[float, float]] = []
    reasons: list[str] = []
    if behaviour.in_stock > 0:
        parts.append((behaviour.in_stock, 1.0 if item.in_stock else 0.0))
        reasons.append("in stock" if item.in_stock else "out of stock")
    if behaviour.purchase_propensity > 0:
        purchases, views = signals.propensity.get(item.id, (0, 0))
        a, b = PROPENSITY_PRIOR
        rate = (purchases + a) / (views + b)
        parts.append((behaviour.purchase_propensity, rate / max_propensity))
        if purchases and rate >= 0.5 * max_propensity:
            reasons.append("often bought")
    if behaviour.price_match > 0:
        band = signals.bands.get(item.category) or signals.bands.get(None)
        match = price_match(item.price, band)
        parts.append((behaviour.price_match, match))
        if band is not None and match == 1.0:
            reasons.append(f"price within {signals.band_source} usual range")
        elif band is not None and match < 0.5:
            reasons.append(f"price outside {signals.band_source} usual range")
    if behaviour.rating > 0:
        count, mean = signals.ratings.get(item.id, (0, 0.0))
        # unrated products score 0: a shopper researching wants products others have rated,
        # the more ratings and the better they are, the higher
        confidence = count / (count + RATING_PRIOR_COUNT)
        parts.append((behaviour.rating, confidence * (0.5 + 0.5 * bayes_rating(count, mean))))
        reasons.append(f"rated {mean:.1f}/5 by {count}" if count else "no ratings yet")
    total = sum(w for w, _ in parts)
    if not total:
        return 0.0, reasons
    return sum(w * v for w, v in parts) / total, reasons


def rerank(
    ids: Sequence[Hashable],
    candidates: Mapping[Hashable, Candidate],
    behaviour: Behaviour,
    signals: Signals,
    *,
    window: int = 50,
) -> tuple[list[Hashable], dict[Hashable, Moved]]:
    """The new order of ``ids`` under ``behaviour`` and, per item intent moved, why."""
    head = [pk for pk in ids[:window] if pk in candidates]
    head_set = set(head)
    tail = [pk for pk in ids if pk not in head_set]
    if len(head) < 2 or not behaviour.reorders():
        return list(ids), {}
    relevance = {pk: max(0.0, 1.0 - i / RELEVANCE_SPAN) for i, pk in enumerate(head)}
    reasons: dict[Hashable, list[str]] = {}
    if behaviour.diversify:
        order = _diversified(head, candidates, relevance)
        reasons = {pk: ["more brands and categories first"] for pk in head}
    else:
        max_propensity = max(
            (
                (signals.propensity.get(pk, (0, 0))[0] + PROPENSITY_PRIOR[0])
                / (signals.propensity.get(pk, (0, 0))[1] + PROPENSITY_PRIOR[1])
                for pk in head
            ),
            default=1.0,
        )
        final = {}
        for pk in head:
            value, why = _signals_of(candidates[pk], behaviour, signals, max_propensity or 1.0)
            final[pk] = (1 - behaviour.strength) * relevance[pk] + behaviour.strength * value
            reasons[pk] = why
        order = sorted(head, key=lambda pk: -final[pk])  # stable: ties keep head's order
    before = {pk: i + 1 for i, pk in enumerate(head)}
    moved = {
        pk: Moved(before[pk], i + 1, tuple(reasons.get(pk, ())))
        for i, pk in enumerate(order)
        if before[pk] != i + 1
    }
    return order + tail, moved


def _diversified(
    head: Sequence[Hashable], candidates: Mapping[Hashable, Candidate], relevance: Mapping
) -> list[Hashable]:
    """Greedy: each next item is the most relevant after a penalty per earlier item of its
    brand and per earlier item of its category (ties: the earlier in ``head``)."""
    # Each item's relevance, brand and category looked up once, not in every round's key
    # function (a 50-item head made 1,275 key calls, each with a list.index).
    left = [(relevance[pk], candidates[pk].brand, candidates[pk].category, pk) for pk in head]
    brands: dict[str | None, int] = {}
    categories: dict[Hashable, int] = {}
    order = []
    while left:
        best, best_score = 0, None
        for n, (rel, brand, category, _) in enumerate(left):
            score = rel - BROWSE_PENALTY * (brands.get(brand, 0) + categories.get(category, 0))
            if best_score is None or score > best_score:  # the first of equal scores
                best, best_score = n, score
        _, brand, category, pk = left.pop(best)
        order.append(pk)
        brands[brand] = brands.get(brand, 0) + 1
        categories[category] = categories.get(category, 0) + 1
    return order
