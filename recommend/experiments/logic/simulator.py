"""Simulated shoppers for demonstrating experiments: the demo store's hidden tastes, shown the
real API's results, click and buy as the demo generator's shoppers do (plain Python).

Each simulated shopper has a taste (``tastes.json`` of the demo store: preferred categories,
brands and price level). A session is a search session (queries sampled with
``catalog.demo.sample_query``), or a recommendations session, optionally followed by
"similar items" of a clicked product. For every result list the API returns, the shopper
examines it top-down and clicks with probability

    intent propensity × click propensity of the graded relevance (``catalog.demo.grade``)
    × the shopper's brand / price fit / log2(rank + 1)

(position bias), then adds to cart and buys with the generator's propensities. A *planted*
effect (``SimConfig.plant``, a teaching and testing aid) multiplies the chance that a list
served by one variant gets a click, i.e. that variant's true click-through rate. Every request
and event carries one simulated clock: requests send it as ``X-Aisle-Simulated-Time`` (which
stamps the search log and the exposure), events as their timestamp.

The API is reached through a :class:`Transport` (the management command provides one over
Django's test client and one over HTTP), so this module imports no Django.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from catalog.demo import StoreIndex, grade, sample_query, vocab

__all__ = ["SimConfig", "SimReport", "TrafficSimulator", "Transport", "products_for_index"]

# Propensities of the demo generator (catalog.demo.events), by relevance grade 0..3.
CLICK_REL = (0.04, 0.15, 0.45, 0.85)
BUY_REL = (0.03, 0.2, 0.6, 1.0)
CLICK_INTENT = {"browse": 0.55, "buy": 0.6, "review": 0.5}
CART_INTENT = {"browse": 0.12, "buy": 0.35, "review": 0.1}
EVENT_BATCH = 500


class Transport(Protocol):
    """How the simulator reaches the API."""

    def get(self, path: str, params: Mapping[str, Any], simulated_time: datetime) -> dict[str, Any]:
        """GET ``/api/v1/<path>`` with the simulated-time header; the JSON body (raise on error)."""

    def post_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """POST ``/api/v1/events`` with ``{"events": events}``; the JSON body."""


@dataclass
class SimConfig:
    shoppers: int = 500
    days: int = 3
    seed: int = 42
    start: datetime | None = None
    sessions_per_day: float = 1.0
    search_share: float = 0.7  # the rest are recommendation sessions
    similar_after_click: float = 0.3  # chance a click leads to a "similar items" request
    page_size: int = 10
    request_id_share: float = 1.0  # events that carry the request id (the rest rely on the window)
    plant: Mapping[str, float] = field(default_factory=dict)  # variant key → click multiplier
    workers: int = 1
    #: a storefront slot: each session first asks /promotions for it (empty: never)
    promotion_slot: str = ""


@dataclass
class SimReport:
    sessions: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    start: datetime | None = None
    end: datetime | None = None
    errors: list[str] = field(default_factory=list)
    #: per session, a hash of every list served to it (ids and variants, in order)
    served: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """One hash of every list served, session by session: two runs with the same seed on
        the same store and models print the same fingerprint, and where they differ, which
        sessions were served differently (:meth:`diverging`) says where to look."""
        digest = hashlib.sha256()
        for session in sorted(self.served):
            digest.update(f"{session}={self.served[session]};".encode())
        return digest.hexdigest()[:16]

    def diverging(self, other: SimReport) -> list[str]:
        """Sessions served differently in ``other`` (or in only one of the two runs)."""
        keys = set(self.served) | set(other.served)
        return sorted(k for k in keys if self.served.get(k) != other.served.get(k))

    def count(self, bucket: dict[str, int], key: str, n: int = 1) -> None:
        bucket[key] = bucket.get(key, 0) + n

    def summary(self) -> str:
        reqs = ", ".join(f"{v} {k}" for k, v in sorted(self.requests.items())) or "none"
        variants = (
            ", ".join(f"{k or 'none'} {v}" for k, v in sorted(self.variants.items())) or "none"
        )
        events = ", ".join(f"{v} {k}" for k, v in sorted(self.events.items())) or "none"
        return (
            f"{self.sessions} sessions from {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} "
            f"(simulated); requests: {reqs}; variants served: {variants}; events: {events} "
            f"({self.accepted} accepted, {self.duplicates} duplicates, {self.rejected} rejected)"
        )


def products_for_index(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Product dicts for :class:`catalog.demo.StoreIndex` from catalogue rows with keys
    external_id, category (external id), brand (name), price, stock, attributes, active."""
    return [
        {
            "external_id": r["external_id"],
            "category": r.get("category") or "",
            "brand": r.get("brand") or "",
            "price": float(r.get("price") or 0),
            "stock": int(r.get("stock") or 0),
            "attributes": r.get("attributes") or {},
            "active": bool(r.get("active", True)),
            "title": "",
            "description": "",
        }
        for r in rows
    ]


class TrafficSimulator:
    """Drive ``config.shoppers`` demo shoppers for ``config.days`` simulated days."""

    def __init__(
        self,
        config: SimConfig,
        index: StoreIndex,
        tastes: Mapping[str, dict],
        transport: Transport,
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if config.start is None:
            raise ValueError("SimConfig.start (the simulated clock's first moment) is required")
        self.config = config
        self.index = index
        self.transport = transport
        self.log = log or (lambda _msg: None)
        rng = random.Random(f"aisle-sim-{config.seed}")
        usable = sorted(s for s, t in tastes.items() if t.get("categories"))
        self.shoppers = rng.sample(usable, min(config.shoppers, len(usable)))
        self.tastes = {s: tastes[s] for s in self.shoppers}
        self.run_id = f"{config.seed}-{int(config.start.timestamp())}"
        self.report = SimReport()
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._event_seq = 0
        self._factors: dict[str, np.ndarray] = {}

    # -- behaviour ------------------------------------------------------------------------

    def _shopper_factor(self, shopper: str) -> np.ndarray:
        """Per product: brand × price fit of this shopper (the generator's ``prepare``)."""
        factor = self._factors.get(shopper)
        if factor is None:
            taste = self.tastes[shopper]
            bw = np.zeros(len(self.index.brands))
            for name, w in (taste.get("brands") or {}).items():
                pos = self.index.brand_pos.get(name)
                if pos is not None:
                    bw[pos] = w
            pm = np.exp(-(((self.index.price_level - taste.get("price_level", 0.5)) / 0.22) ** 2))
            factor = (1.0 + 2.0 * bw[self.index.brand_idx]) * (0.35 + 0.65 * pm)
            with self._lock:
                self._factors[shopper] = factor
        return factor

    def _taste_grade(self, shopper: str, product: dict) -> int:
        """Relevance of a recommended product to the shopper: their category 2, their brand 1."""
        taste = self.tastes[shopper]
        if product.get("category") in (taste.get("categories") or {}):
            return 2
        return 1 if product.get("brand") in (taste.get("brands") or {}) else 0

    def _event(
        self,
        rng: random.Random,
        *,
        shopper: str,
        session: str,
        etype: str,
        product: str,
        t: datetime,
        request_id: str,
        **extra: Any,
    ) -> None:
        with self._lock:
            self._event_seq += 1
            seq = self._event_seq
        event = {
            "event_id": f"sim-{self.run_id}-{shopper}-{seq}",
            "shopper": shopper,
            "type": etype,
            "product": product,
            "timestamp": t.isoformat(),
            "session": session,
            **extra,
        }
        if request_id and rng.random() < self.config.request_id_share:
            event["request_id"] = request_id
        with self._lock:
            self._events.append(event)
            self.report.count(self.report.events, etype)
            flush = len(self._events) >= EVENT_BATCH
        if flush:
            self.flush_events()

    def flush_events(self) -> None:
        with self._lock:
            batch, self._events = self._events, []
        for i in range(0, len(batch), EVENT_BATCH):
            body = self.transport.post_events(batch[i : i + EVENT_BATCH])
            with self._lock:
                self.report.accepted += int(body.get("accepted", 0))
                self.report.duplicates += int(body.get("duplicates", 0))
                self.report.rejected += int(body.get("rejected", 0))
                for err in body.get("errors") or []:
                    if len(self.report.errors) < 20:
                        self.report.errors.append(str(err))

    def _request(
        self, path: str, params: dict[str, Any], t: datetime, kind: str
    ) -> dict[str, Any] | None:
        try:
            body = self.transport.get(path, params, t)
        except Exception as exc:  # a failed request is reported, the simulation goes on
            with self._lock:
                self.report.count(self.report.requests, f"{kind} failed")
                if len(self.report.errors) < 20:
                    self.report.errors.append(f"{kind}: {exc}")
            return None
        shown = ",".join(
            str((item.get("product") or {}).get("id")) for item in body.get("results") or []
        )
        session = str(params.get("session") or "")
        with self._lock:
            self.report.count(self.report.requests, kind)
            self.report.count(self.report.variants, str(body.get("variant") or ""))
            previous = self.report.served.get(session, "")
            self.report.served[session] = hashlib.sha256(
                f"{previous}|{path}?{params.get('q', '')}:{body.get('variant')}:{shown}".encode()
            ).hexdigest()[:16]
        return body

    def _click_plan(self, rng: random.Random, probs: list[float], plant: float) -> list[bool]:
        """Which items of the list get clicked. Unplanted: each independently with its
        probability. Planted with factor m: the list gets any click with probability
        m × P(any click) (so the variant's click-through rate is m times higher), and then the
        clicks follow their distribution given that there is at least one."""
        if plant == 1.0 or not probs:
            return [rng.random() < p for p in probs]
        q = 1.0 - math.prod(1.0 - p for p in probs)
        if rng.random() >= min(0.99, plant * q):
            return [False] * len(probs)
        for _ in range(200):
            plan = [rng.random() < p for p in probs]
            if any(plan):
                return plan
        plan = [False] * len(probs)  # a list nobody would click: click its most likely item
        plan[max(range(len(probs)), key=probs.__getitem__)] = True
        return plan

    def _examine(
        self,
        rng: random.Random,
        *,
        shopper: str,
        session: str,
        body: dict[str, Any],
        t: datetime,
        intent: str,
        grader: Callable[[dict], int],
        query: str = "",
    ) -> tuple[datetime, list[str], bool]:
        """Look through one result list: clicks, carts, purchases. Returns (time, clicked ids, bought)."""
        plant = float(self.config.plant.get(str(body.get("variant") or ""), 1.0))
        factor = self._shopper_factor(shopper)
        taste = self.tastes[shopper]
        request_id = str(body.get("request_id") or "")
        shown: list[tuple[int, str, int, dict, int]] = []  # rank, id, index, product, grade
        for rank, item in enumerate(body.get("results") or [], 1):
            external_id = (item.get("product") or {}).get("id")
            idx = self.index.id_to_idx.get(external_id)
            if idx is not None:
                product = self.index.products[idx]
                shown.append((rank, external_id, idx, product, grader(product)))
        probs = [
            min(
                0.95, CLICK_INTENT[intent] * CLICK_REL[g] * float(factor[idx]) / math.log2(rank + 1)
            )
            for rank, _, idx, _, g in shown
        ]
        plan = self._click_plan(rng, probs, plant)
        clicked: list[str] = []
        bought = False
        for (rank, external_id, idx, product, g), click in zip(shown, plan, strict=True):
            if not click:
                continue
            t += timedelta(seconds=rng.uniform(3, 40))
            self._event(
                rng,
                shopper=shopper,
                session=session,
                etype="click",
                product=external_id,
                t=t,
                request_id=request_id,
                position=rank,
                **({"query": query} if query else {}),
            )
            clicked.append(external_id)
            t += timedelta(seconds=rng.uniform(15, 120))
            if not self.index.in_stock[idx]:
                continue
            catw = (taste.get("categories") or {}).get(product.get("category"), 0.0)
            pcart = CART_INTENT[intent] * BUY_REL[g] * float(factor[idx]) * (0.6 + catw)
            if rng.random() >= min(0.9, pcart):
                continue
            t += timedelta(seconds=rng.uniform(10, 90))
            self._event(
                rng,
                shopper=shopper,
                session=session,
                etype="add_to_cart",
                product=external_id,
                t=t,
                request_id=request_id,
            )
            if rng.random() >= (0.75 if intent == "buy" else 0.55):
                continue
            t += timedelta(seconds=rng.uniform(30, 300))
            self._event(
                rng,
                shopper=shopper,
                session=session,
                etype="purchase",
                product=external_id,
                t=t,
                request_id=request_id,
                value=float(product.get("price") or 0),
            )
            bought = True
            if rng.random() < 0.7:
                break
        return t, clicked, bought

    def _similar(
        self, rng: random.Random, shopper: str, session: str, product_id: str, t: datetime
    ) -> datetime:
        body = self._request(
            f"products/{product_id}/similar",
            {"shopper": shopper, "session": session, "size": self.config.page_size},
            t,
            "similar",
        )
        if body is not None:
            t, _, _ = self._examine(
                rng,
                shopper=shopper,
                session=session,
                body=body,
                t=t,
                intent="browse",
                grader=lambda p: self._taste_grade(shopper, p),
            )
        return t

    def search_session(self, rng: random.Random, shopper: str, session: str, t: datetime) -> None:
        taste = self.tastes[shopper]
        for _ in range(1 + (rng.random() < 0.35) + (rng.random() < 0.12)):
            text, intent, spec = sample_query(rng, taste, self.index)
            body = self._request(
                "search",
                {"q": text, "shopper": shopper, "session": session, "size": self.config.page_size},
                t,
                "search",
            )
            if body is None:
                return
            t, clicked, bought = self._examine(
                rng,
                shopper=shopper,
                session=session,
                body=body,
                t=t,
                intent=intent,
                grader=lambda p, spec=spec: grade(spec, p),
                query=text,
            )
            if clicked and rng.random() < self.config.similar_after_click:
                t = self._similar(
                    rng, shopper, session, clicked[0], t + timedelta(seconds=rng.uniform(5, 30))
                )
            if bought:
                return
            t += timedelta(seconds=rng.uniform(20, 120))

    def recommendations_session(
        self, rng: random.Random, shopper: str, session: str, t: datetime
    ) -> None:
        body = self._request(
            "recommendations",
            {"shopper": shopper, "session": session, "size": self.config.page_size},
            t,
            "recommendations",
        )
        if body is None:
            return
        t, clicked, _ = self._examine(
            rng,
            shopper=shopper,
            session=session,
            body=body,
            t=t,
            intent="browse",
            grader=lambda p: self._taste_grade(shopper, p),
        )
        if clicked and rng.random() < self.config.similar_after_click:
            self._similar(
                rng, shopper, session, clicked[0], t + timedelta(seconds=rng.uniform(5, 30))
            )

    # -- schedule -------------------------------------------------------------------------

    def day_sessions(self, day: int) -> list[tuple[datetime, str, str, int]]:
        """This day's sessions: (start, shopper, kind, session number), in time order."""
        rng = random.Random(f"aisle-sim-{self.config.seed}-day-{day}")
        nrng = np.random.default_rng([self.config.seed, day])
        day_start = self.config.start + timedelta(days=day)
        sessions = []
        for shopper in self.shoppers:
            for k in range(int(nrng.poisson(self.config.sessions_per_day))):
                hour = rng.choices(range(24), weights=vocab.HOUR_WEIGHTS)[0]
                start = day_start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
                kind = "search" if rng.random() < self.config.search_share else "recommendations"
                sessions.append((start, shopper, kind, k))
        sessions.sort()
        return sessions

    def promotion_view(self, rng: random.Random, shopper: str, session: str, t: datetime) -> None:
        """The storefront's promotion slot as the session opens: a promotion shown is looked at
        like a one-item recommendation (same propensities, graded by the shopper's taste); a
        held-out shopper is shown nothing and so does nothing here."""
        body = self._request(
            "promotions",
            {"shopper": shopper, "session": session, "slot": self.config.promotion_slot},
            t,
            "promotions",
        )
        promotion = (body or {}).get("promotion")
        if not promotion:
            return
        self._examine(
            rng,
            shopper=shopper,
            session=session,
            body={"results": [{"product": promotion["product"]}], "request_id": body["request_id"]},
            t=t,
            intent="browse",
            grader=lambda p: self._taste_grade(shopper, p),
        )

    def _run_session(self, day: int, item: tuple[datetime, str, str, int]) -> None:
        start, shopper, kind, k = item
        rng = random.Random(f"aisle-sim-{self.config.seed}-{day}-{shopper}-{k}")
        session = f"sim-{self.run_id}-{day}-{shopper}-{k}"
        if self.config.promotion_slot:
            # its own random stream: the session's own draws stay what they were without it
            promo_rng = random.Random(f"aisle-sim-{self.config.seed}-{day}-{shopper}-{k}-promo")
            self.promotion_view(promo_rng, shopper, session, start)
        if kind == "search":
            self.search_session(rng, shopper, session, start)
        else:
            self.recommendations_session(rng, shopper, session, start)

    def run(self, on_day_end: Callable[[int, SimReport], None] | None = None) -> SimReport:
        self.report.start = self.config.start
        self.report.end = self.config.start + timedelta(days=self.config.days)
        for day in range(self.config.days):
            sessions = self.day_sessions(day)
            if self.config.workers > 1:
                with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
                    list(pool.map(lambda item, day=day: self._run_session(day, item), sessions))
            else:
                for item in sessions:
                    self._run_session(day, item)
            self.flush_events()
            self.report.sessions += len(sessions)
            if on_day_end is not None:
                on_day_end(day, self.report)
        return self.report
