"""What a demo store is, and how relevant a product is to a query.

``DemoStore`` / ``DemoTruth`` hold a generated store and its hidden truth; ``grade(spec,
product)`` is the graded relevance the judged queries, the simulated result pages and the
traffic simulator all share.  Plain Python, no Django.

A query *spec* is a JSON-serialisable dict::

    {"categories": [leaf ids the query is about],
     "related":    [leaf ids that are a partial match (graded 1)],
     "type":  product type or None,   "brand": brand or None,
     "model": model/line or None,     "attributes": {name: value},
     "price_max": float or None}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from catalog.demo import vocab


@dataclass(frozen=True)
class DemoTruth:
    tastes: dict[str, dict]
    query_intents: list[dict]
    review_sentiments: list[dict]
    judged_queries: list[dict]
    relevance: list[dict]


@dataclass(frozen=True)
class DemoStore:
    categories: list[dict]
    brands: list[str]
    products: list[dict]
    shoppers: list[dict]
    events: list[dict]
    truth: DemoTruth
    # the parts the plantings of ``generator.PLANTINGS`` add, by planting name
    extras: dict[str, object] = field(default_factory=dict)

    def planted_events(self) -> list[dict]:
        """The events the plantings add (a part that is a dict with ``events``), in planting
        order: the loader writes them after ``events``."""
        return [
            e
            for part in self.extras.values()
            if isinstance(part, dict)
            for e in (part.get("events") or ())
        ]


# ---------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------


def grade(spec: dict, product: dict) -> int:
    """Graded relevance 0..3 of ``product`` for a query ``spec``.

    3: in one of the spec's categories and every constraint given (type, brand, model,
       attributes, price_max) holds -- needs at least one constraint;
    2: in one of the spec's categories;
    1: in a related category, or same brand as asked for (partial match);
    0: otherwise.
    """
    category = product.get("category")
    attrs = product.get("attributes") or {}
    if category in (spec.get("categories") or ()):
        checks = 0
        ok = True
        for key in ("type", "model"):
            want = spec.get(key)
            if want is not None:
                checks += 1
                ok = ok and attrs.get(key) == want
        brand = spec.get("brand")
        if brand is not None:
            checks += 1
            ok = ok and product.get("brand") == brand
        for name, want in (spec.get("attributes") or {}).items():
            checks += 1
            ok = ok and attrs.get(name) == want
        price_max = spec.get("price_max")
        if price_max is not None:
            checks += 1
            ok = ok and float(product.get("price", 0)) <= float(price_max)
        return 3 if checks and ok else 2
    if category in (spec.get("related") or ()):
        return 1
    if spec.get("brand") is not None and product.get("brand") == spec.get("brand"):
        return 1
    return 0


def sentiment_of(rating: int) -> str:
    return "negative" if rating <= 2 else ("neutral" if rating == 3 else "positive")


def price_level_of(category: str, price: float) -> float:
    leaf = vocab.LEAF_BY_ID.get(category)
    if leaf is None or price <= 0:
        return 0.5
    lo, hi = leaf["price"]
    level = (math.log(price) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return min(1.0, max(0.0, level))
