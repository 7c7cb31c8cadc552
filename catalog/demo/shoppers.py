"""The shopper planting: shoppers (segment, country, signup date), their hidden tastes
(categories, brands, price level) and activity rates.  Draws from the base stream, after
the catalog.  Plain Python, no Django.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from catalog.demo import vocab
from catalog.demo.index import StoreIndex
from catalog.demo.products import CatalogBuilder


def make_shoppers(rng, n, idx: StoreIndex, catalog: CatalogBuilder, end: datetime, days: int):
    shoppers: list[dict] = []
    tastes: dict[str, dict] = {}
    activity: list[float] = []
    signups: list[datetime] = []
    countries = [c for c, _ in vocab.COUNTRIES]
    cweights = [w for _, w in vocab.COUNTRIES]
    segs = [s for s, _, _ in vocab.SEGMENTS]
    sweights = [w for _, w, _ in vocab.SEGMENTS]
    centers = {s: c for s, _, c in vocab.SEGMENTS}
    personas = [p for p in vocab.PERSONAS if any(c in idx.by_leaf for c in p["leaves"])]
    for i in range(n):
        sid = f"u{i + 1:05d}"
        segment = rng.choices(segs, weights=sweights)[0]
        level = min(0.98, max(0.02, rng.gauss(centers[segment], 0.1)))
        persona = rng.choice(personas)
        pool = [c for c in persona["leaves"] if c in idx.by_leaf]
        k = min(len(pool), rng.choice((2, 2, 3)))
        cats = rng.sample(pool, k)
        if rng.random() < 0.3:  # one idiosyncratic interest outside the persona
            other = [c for c in idx.leaves if c not in cats]
            if other:
                cats[-1 if len(cats) > 1 else 0] = rng.choice(other)
        raw = [rng.gammavariate(1.5, 1.0) + 0.05 for _ in cats]
        total = sum(raw)
        cat_w = {c: round(w / total, 4) for c, w in zip(cats, raw, strict=True)}
        brand_w: dict[str, float] = {}
        for c in cats:
            carriers = idx.leaf_brands[c]
            fit = [
                math.exp(-(((catalog.brand_level[b] - level) / 0.25) ** 2)) + 0.05 for b in carriers
            ]
            for b in dict.fromkeys(rng.choices(carriers, weights=fit, k=rng.choice((1, 1, 2)))):
                brand_w[b] = brand_w.get(b, 0.0) + cat_w[c] * rng.uniform(0.5, 1.5)
        total = sum(brand_w.values())
        brand_w = {b: round(w / total, 4) for b, w in brand_w.items()}
        tastes[sid] = {
            "categories": cat_w,
            "brands": brand_w,
            "price_level": round(level, 4),
            "segment": segment,
        }
        if rng.random() < 0.15:
            signup = end - timedelta(days=rng.uniform(1.0, max(1.5, days - 1.0)))
        else:
            signup = end - timedelta(days=rng.uniform(days, 730))
        signups.append(signup)
        activity.append(rng.lognormvariate(-1.75, 0.9))
        shoppers.append(
            {
                "external_id": sid,
                "segment": segment,
                "country": rng.choices(countries, weights=cweights)[0],
                "signup_date": signup.date().isoformat(),
            }
        )
    return shoppers, tastes, activity, signups
