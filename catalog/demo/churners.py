"""The churner planting: shoppers who were regulars and then drift away, for the churn-risk
insight to find.  Plain Python + numpy, no Django; draws only from its own stream
(``streams.rng("churners")``), so the base store stays as it was.

**The stated hazard.**  ``CHURNER_SHARE`` of the store's shopper count (at least
``MIN_CHURNERS``) are added as new shoppers ``churner-00001`` ... Each has a base visit rate
``r0`` (visits per day, log-normal around ``BASE_RATE``) and a decay date ``d0`` drawn uniformly
``DECAY_WINDOW_DAYS`` before the store's end.  Before ``d0`` they visit at ``r0``; after it at
``r0 · exp(-(t - d0) / tau)`` with ``tau`` uniform in ``TAU_DAYS``.  Every day's rate is also
multiplied by a gamma noise (mean 1, shape ``NOISE_SHAPE``), so that a decaying shopper may
still have visited yesterday: recency alone does not separate them, the falling trend does.

A visit views 2–5 products of one of the shopper's two favourite leaf categories; each view is
added to the cart with probability 0.3 and bought from the cart with probability 0.5.

The part returned (``store.extras["churners"]``): ``shoppers`` and ``events`` in the base
store's formats (the loader writes them with the rest), and ``truth`` — the hazard's parameters
and, per churner, ``r0``, ``d0`` and ``tau`` (``churners.json`` in the truth directory).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "churners"
CHURNER_SHARE = 0.08
MIN_CHURNERS = 10
BASE_RATE = 0.35
DECAY_WINDOW_DAYS = (40.0, 8.0)  # d0 between 40 and 8 days before the end
TAU_DAYS = (3.0, 8.0)
NOISE_SHAPE = 2.0


def plant_churners(store: DemoStore, streams: Streams) -> dict:
    """Add the churners (shoppers + events) and their hazard as truth; see the module doc."""
    rng = streams.rng(NAME)
    if not store.events or not store.products:
        return {"shoppers": [], "events": [], "truth": {"churners": []}}
    start = min(e["timestamp"] for e in store.events[:1])
    end = max(e["timestamp"] for e in store.events[-1:])
    start_day = math.floor(start.timestamp() / 86400)
    end_day = math.floor(end.timestamp() / 86400)
    by_leaf: dict[str, list[dict]] = {}
    for p in store.products:
        if p.get("active", True) and int(p.get("stock") or 0) > 0:
            by_leaf.setdefault(p["category"], []).append(p)
    leaves = sorted(leaf for leaf, items in by_leaf.items() if len(items) >= 3)
    n = max(MIN_CHURNERS, round(CHURNER_SHARE * len(store.shoppers)))
    shoppers: list[dict] = []
    events: list[dict] = []
    truth: list[dict] = []
    sessions = 0
    for i in range(n):
        sid = f"churner-{i + 1:05d}"
        r0 = BASE_RATE * math.exp(rng.gauss(0.0, 0.4))
        d0 = end - timedelta(days=rng.uniform(DECAY_WINDOW_DAYS[1], DECAY_WINDOW_DAYS[0]))
        tau = rng.uniform(*TAU_DAYS)
        favourites = rng.sample(leaves, min(2, len(leaves)))
        signup = start - timedelta(days=rng.uniform(30, 400))
        shoppers.append(
            {
                "external_id": sid,
                "segment": "",
                "country": "",
                "signup_date": signup.date().isoformat(),
            }
        )
        truth.append(
            {
                "external_id": sid,
                "base_rate_per_day": round(r0, 4),
                "decay_start": d0.isoformat(),
                "tau_days": round(tau, 3),
                "favourite_categories": favourites,
            }
        )
        for day in range(start_day, end_day + 1):
            t_mid = (day + 0.5) * 86400
            rate = r0
            if t_mid > d0.timestamp():
                rate *= math.exp(-(t_mid - d0.timestamp()) / 86400 / tau)
            rate *= rng.gammavariate(NOISE_SHAPE, 1.0 / NOISE_SHAPE)
            for _ in range(_poisson(rng, rate)):
                t = day * 86400 + rng.uniform(8 * 3600, 22 * 3600)
                if not start.timestamp() <= t < end.timestamp() - 3600:
                    continue
                sessions += 1
                events += _visit(rng, sid, f"churner-s{sessions}", t, by_leaf, favourites)
    events.sort(key=lambda e: (e["timestamp"], e["event_id"]))
    return {
        "shoppers": shoppers,
        "events": events,
        "truth": {
            "hazard": {
                "share": CHURNER_SHARE,
                "base_rate_per_day": BASE_RATE,
                "decay_window_days_before_end": list(DECAY_WINDOW_DAYS),
                "tau_days": list(TAU_DAYS),
                "daily_noise": f"gamma(shape={NOISE_SHAPE}, mean 1)",
                "rule": "rate(t) = r0 before d0, r0 * exp(-(t - d0) / tau) after, times the noise",
            },
            "churners": truth,
        },
    }


def _poisson(rng, rate: float) -> int:
    """Knuth's method: small rates only (a day's visits)."""
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _visit(rng, sid: str, session: str, t: float, by_leaf: dict, favourites: list) -> list[dict]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    out: list[dict] = []

    def emit(kind: str, product: dict, value: float | None = None) -> None:
        out.append(
            {
                "event_id": f"demo-{session}-{len(out) + 1}",
                "shopper": sid,
                "type": kind,
                "product": product["external_id"],
                "timestamp": epoch + timedelta(seconds=round(t, 3)),
                "query": "",
                "position": None,
                "value": value,
                "review": "",
                "session": session,
                "request_id": "",
            }
        )

    leaf = rng.choice(favourites)
    for _ in range(rng.randint(2, 5)):
        product = rng.choice(by_leaf[leaf])
        t += rng.uniform(10, 90)
        emit("view", product)
        if rng.random() < 0.3:
            t += rng.uniform(10, 60)
            emit("add_to_cart", product)
            if rng.random() < 0.5:
                t += rng.uniform(30, 180)
                emit("purchase", product, float(product["price"]))
    return out
