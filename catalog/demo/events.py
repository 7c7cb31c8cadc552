"""The traffic planting: ``days`` days of sessions (search, browse, replenish) per shopper,
driven by the hidden tastes, with position-biased clicks, carts, purchases, repeat buys of
consumables, complementary purchases and later ratings and reviews.  Draws from the base
streams (``random`` and numpy), after the shoppers.  Plain Python + numpy, no Django.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from catalog.demo import vocab
from catalog.demo.index import StoreIndex
from catalog.demo.products import CatalogBuilder
from catalog.demo.queries import sample_query_spec
from catalog.demo.reviews import review_text

EVENT_TYPES = ("search", "view", "click", "add_to_cart", "purchase", "rating", "review")

# click / purchase propensities by relevance grade 0..3
_CLICK_REL = (0.04, 0.15, 0.45, 0.85)
_BUY_REL = (0.03, 0.2, 0.6, 1.0)
_CLICK_INTENT = {"browse": 0.55, "buy": 0.6, "review": 0.5}
_CART_INTENT = {"browse": 0.12, "buy": 0.35, "review": 0.1}


class _Sim:
    def __init__(
        self, rng, nrng, idx: StoreIndex, catalog: CatalogBuilder, start_ts: float, end_ts: float
    ):
        self.rng = rng
        self.nrng = nrng
        self.idx = idx
        self.cat = catalog
        self.start_ts = start_ts
        self.end_ts = end_ts
        self.rows: list[tuple] = []
        self.intents: dict[str, str] = {}
        self.sessions = 0
        self.products = idx.products
        self.quality = catalog.quality
        self.complement = self._designate_complements()

    def _designate_complements(self) -> dict[int, int]:
        """Per product, one product from a complementary leaf that is often bought with it."""
        rng = self.rng
        out: dict[int, int] = {}
        for leaf in vocab.LEAVES:
            comps = [c for c in leaf["complements"] if c in self.idx.by_leaf]
            if not comps or leaf["id"] not in self.idx.by_leaf:
                continue
            for i in self.idx.by_leaf[leaf["id"]]:
                c = rng.choice(comps)
                pool = self.idx.by_leaf[c]
                d = np.abs(self.idx.price_level[pool] - self.idx.price_level[i])
                near = pool[np.argsort(d, kind="stable")[:8]]
                out[int(i)] = int(near[rng.randrange(len(near))])
        return out

    # -- helpers -----------------------------------------------------------
    def emit(
        self,
        ts,
        shopper,
        etype,
        product=-1,
        query="",
        position=None,
        value=None,
        review="",
        session="",
    ):
        if ts >= self.end_ts:  # a session running past the window is cut off there
            return
        self.rows.append(
            (
                int(ts * 1000),
                len(self.rows),
                shopper,
                etype,
                product,
                query,
                position,
                value,
                review,
                session,
            )
        )

    def new_session(self) -> str:
        self.sessions += 1
        return f"demo-s{self.sessions}"

    def prepare(self, taste: dict) -> None:
        """Per-shopper vectors: price fit and brand x price factor of every product."""
        bw = np.zeros(len(self.idx.brands))
        for name, w in taste["brands"].items():
            bw[self.idx.brand_pos[name]] = w
        pm = np.exp(-(((self.idx.price_level - taste["price_level"]) / 0.22) ** 2))
        self.pm = pm.tolist()
        self.sf = ((1.0 + 2.0 * bw[self.idx.brand_idx]) * (0.35 + 0.65 * pm)).tolist()

    def already_owns(self, p: int) -> bool:
        """Durable goods are bought once; consumables (repeat leaves) again and again."""
        if p not in self.owned:
            return False
        leaf = vocab.LEAF_BY_ID.get(self.products[p]["category"])
        return leaf is None or not leaf["repeat"]

    def shopper_factor(self, taste: dict, p: int) -> float:
        return self.sf[p]

    def pick_leaf(self, taste: dict) -> str:
        cats = [c for c in taste["categories"] if c in self.idx.by_leaf]
        if cats and self.rng.random() < 0.85:
            return self.rng.choices(cats, weights=[taste["categories"][c] for c in cats])[0]
        return self.rng.choice(self.idx.leaves)

    # -- purchase and its consequences ---------------------------------------
    def purchase(self, s, taste, p, t, session, staples, allow_cross=True) -> float:
        rng = self.rng
        self.emit(t, s, "purchase", p, value=float(self.products[p]["price"]), session=session)
        self.owned.add(p)
        leaf = vocab.LEAF_BY_ID.get(self.products[p]["category"])
        if leaf is not None and leaf["repeat"] and rng.random() < 0.6 and p not in staples:
            lo, hi = leaf["repeat"]
            staples[p] = t + rng.uniform(lo, hi) * 86400
        r = rng.random()
        if r < 0.45:
            self.schedule_feedback(s, taste, p, t, review=r < 0.2)
        if allow_cross and p in self.complement and rng.random() < 0.35:
            if rng.random() < 0.65:
                q = self.complement[p]
            else:
                comps = [c for c in leaf["complements"] if c in self.idx.by_leaf]
                q = self.idx.pick(rng, rng.choice(comps), taste)
            t += rng.uniform(20, 120)
            self.emit(t, s, "view", q, session=session)
            if self.idx.in_stock[q] and not self.already_owns(q):
                t += rng.uniform(10, 60)
                self.emit(t, s, "add_to_cart", q, session=session)
                t += rng.uniform(30, 180)
                t = self.purchase(s, taste, q, t, session, staples, allow_cross=False)
        return t

    def schedule_feedback(self, s, taste, p, t, review: bool):
        rng = self.rng
        when = t + rng.uniform(2, 20) * 86400
        if when >= self.end_ts - 1:
            return
        pm = self.pm[p]
        mu = 1.9 + 3.4 * self.quality[p] + 0.8 * (pm - 0.5)
        rating = int(min(5, max(1, round(rng.gauss(mu, 0.8)))))
        session = self.new_session()
        if not review:
            self.emit(when, s, "rating", p, value=float(rating), session=session)
            return
        text = review_text(rng, self.products[p], rating)
        self.emit(when, s, "review", p, value=float(rating), review=text, session=session)

    def consider(self, s, taste, p, g, intent, t, session, staples) -> tuple[float, bool]:
        """After viewing product p: maybe add to cart and buy.  Returns (time, bought)."""
        rng = self.rng
        if not self.idx.in_stock[p] or self.already_owns(p):
            return t, False
        catw = taste["categories"].get(self.products[p]["category"], 0.0)
        pc = _CART_INTENT[intent] * _BUY_REL[g] * self.shopper_factor(taste, p) * (0.6 + catw)
        if rng.random() >= min(0.9, pc):
            return t, False
        t += rng.uniform(10, 90)
        self.emit(t, s, "add_to_cart", p, session=session)
        if rng.random() >= (0.75 if intent == "buy" else 0.55):
            return t, False
        t += rng.uniform(30, 300)
        return self.purchase(s, taste, p, t, session, staples), True

    # -- sessions ----------------------------------------------------------------
    def query(self, taste) -> tuple[str, str, dict, bool]:
        for _ in range(10):
            text, intent, spec, typo = sample_query_spec(self.rng, taste, self.idx)
            known = self.intents.get(text)
            if known is None or known == intent:
                self.intents[text] = intent
                return text, intent, spec, typo
        raise RuntimeError("could not sample a query with a consistent intent")

    def search_session(self, s, taste, t, staples):
        rng = self.rng
        session = self.new_session()
        n_queries = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        for _ in range(n_queries):
            text, intent, spec, typo = self.query(taste)
            self.emit(t, s, "search", query=text, session=session)
            page = self.idx.search(spec, self.nrng, typo=typo)
            bought = False
            for rank, (p, g) in enumerate(page, 1):
                pc = _CLICK_INTENT[intent] * _CLICK_REL[g] * self.shopper_factor(taste, p)
                if rng.random() >= min(0.95, pc / math.log2(rank + 1)):
                    continue
                t += rng.uniform(3, 40)
                self.emit(t, s, "click", p, query=text, position=rank, session=session)
                t += rng.uniform(0.5, 2)
                self.emit(t, s, "view", p, query=text, session=session)
                t += rng.uniform(15, 120)
                t, bought = self.consider(s, taste, p, g, intent, t, session, staples)
                if bought and rng.random() < 0.7:
                    break
            t += rng.uniform(20, 120)
            if bought:
                break
        return t

    def browse_session(self, s, taste, t, staples):
        rng = self.rng
        session = self.new_session()
        leaf = self.pick_leaf(taste)
        for _ in range(rng.randint(2, 6)):
            if rng.random() < 0.2:
                leaf = self.pick_leaf(taste)
            p = self.idx.pick(rng, leaf, taste)
            t += rng.uniform(10, 90)
            self.emit(t, s, "view", p, session=session)
            catw = taste["categories"].get(leaf, 0.0)
            g = 2 if catw > 0 else 1
            t, bought = self.consider(s, taste, p, g, "browse", t, session, staples)
            if bought and rng.random() < 0.6:
                break
        return t

    def replenish_session(self, s, taste, t, staples, due):
        rng = self.rng
        session = self.new_session()
        for p in due[:3]:
            leaf = vocab.LEAF_BY_ID[self.products[p]["category"]]
            lo, hi = leaf["repeat"]
            staples[p] = t + rng.uniform(lo, hi) * 86400
            t += rng.uniform(10, 60)
            self.emit(t, s, "view", p, session=session)
            if not self.idx.in_stock[p] or rng.random() < 0.15:
                continue
            t += rng.uniform(5, 40)
            self.emit(t, s, "add_to_cart", p, session=session)
            t += rng.uniform(20, 120)
            t = self.purchase(s, taste, p, t, session, staples, allow_cross=False)
        return t

    def run_shopper(self, s: int, taste: dict, rate: float, signup_ts: float):
        rng = self.rng
        first = max(self.start_ts, signup_ts)
        span = self.end_ts - 7200 - first
        if span <= 0:
            return
        n = int(self.nrng.poisson(rate * span / 86400))
        if n == 0:
            return
        starts = []
        day0 = math.floor(first / 86400)
        for _ in range(n):
            for _attempt in range(5):
                day = day0 + rng.randrange(int(math.ceil(span / 86400)) + 1)
                hour = rng.choices(range(24), weights=vocab.HOUR_WEIGHTS)[0]
                ts = day * 86400 + hour * 3600 + rng.uniform(0, 3600)
                if first <= ts < self.end_ts - 7200:
                    starts.append(ts)
                    break
        starts.sort()
        self.prepare(taste)
        self.owned: set[int] = set()
        staples: dict[int, float] = {}
        for ts in starts:
            due = [p for p, d in staples.items() if d <= ts]
            if due and rng.random() < 0.8:
                self.replenish_session(s, taste, ts, staples, due)
                if rng.random() < 0.7:
                    continue
                ts += 600
            if rng.random() < 0.62:
                self.search_session(s, taste, ts, staples)
            else:
                self.browse_session(s, taste, ts, staples)


def simulate_events(
    sim: _Sim,
    shopper_rows: list[dict],
    tastes: dict[str, dict],
    activity: list[float],
    signups: list[datetime],
    pids: list[str],
) -> list[dict]:
    """Run every shopper through ``sim`` in order; the event dicts, sorted by time, with
    ids ``demo-1``, ``demo-2``, ... in that order."""
    for s, row in enumerate(shopper_rows):
        sim.run_shopper(s, tastes[row["external_id"]], activity[s], signups[s].timestamp())

    sim.rows.sort(key=lambda r: (r[0], r[1]))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    sids = [row["external_id"] for row in shopper_rows]
    events: list[dict] = []
    for n, (ms, _seq, s, etype, p, query, position, value, review, session) in enumerate(
        sim.rows, 1
    ):
        events.append(
            {
                "event_id": f"demo-{n}",
                "shopper": sids[s],
                "type": etype,
                "product": pids[p] if p >= 0 else "",
                "timestamp": epoch + timedelta(milliseconds=ms),
                "query": query,
                "position": position,
                "value": value,
                "review": review,
                "session": session,
                "request_id": "",
            }
        )
    return events
