"""Deterministic demo-store generator: catalog, shoppers, events and the hidden truth.

Plain Python + numpy, no Django.  ``generate_store(seed=...)`` builds a believable shop
(categories in a tree, brands with price levels, coherent products) and simulates
``days`` days of shopper behaviour driven by hidden tastes, so that the truth returned
alongside (tastes, query intents, review sentiments, graded relevance of held-out
queries) can be learned back from the events.

This module composes the plantings, each in a module of its own: ``products`` (category
tree, brands, products), ``judged`` (held-out queries and graded relevance), ``shoppers``
(shoppers and tastes), ``events`` (the traffic, with ``queries`` and ``reviews``);
``store`` holds the data classes and ``grade``, ``index`` the ``StoreIndex``, ``truth``
writes the truth files.

Determinism: all randomness flows from ``random.Random`` and ``numpy.random.Generator``
instances seeded from ``seed``; the global generators are never used, and every
iteration is over ordered containers.  Same arguments -> identical store.

The pieces a traffic simulator reuses later are ``grade(spec, product)``,
``sample_query(rng, taste, index)`` and ``StoreIndex`` (``build_index(store)``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np

from catalog.demo.events import _Sim, simulate_events
from catalog.demo.index import StoreIndex
from catalog.demo.judged import _judged_queries, _relevance
from catalog.demo.products import _build_categories, _Catalog
from catalog.demo.reviews import review_sentiments
from catalog.demo.shoppers import _make_shoppers
from catalog.demo.store import DemoStore, DemoTruth

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)


def generate_store(
    *,
    products: int = 5000,
    shoppers: int = 2000,
    days: int = 60,
    seed: int = 42,
    end: datetime | None = None,
) -> DemoStore:
    """Build a demo store from ``seed``: same arguments, identical store.

    ``end`` (default 2026-11-01T00:00Z) closes the ``days``-day event window; a naive
    datetime is taken as UTC.  All event timestamps fall inside the window.
    """
    if end is None:
        end = DEFAULT_END
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)

    catalog = _Catalog(rng, products)
    categories = _build_categories()
    plain = StoreIndex(catalog.products, popularity=catalog.popularity)
    judged = _judged_queries(seed, plain)
    idx = StoreIndex(
        catalog.products, popularity=catalog.popularity, avoid=[j["query"] for j in judged]
    )
    shopper_rows, tastes, activity, signups = _make_shoppers(rng, shoppers, idx, catalog, end, days)

    end_ts = end.timestamp()
    start_ts = end_ts - days * 86400
    sim = _Sim(rng, nrng, idx, catalog, start_ts, end_ts)
    pids = [p["external_id"] for p in catalog.products]
    events = simulate_events(sim, shopper_rows, tastes, activity, signups, pids)

    used = dict.fromkeys(e["query"] for e in events if e["type"] == "search")
    query_intents = [{"query": q, "intent": sim.intents[q]} for q in sorted(used)]
    truth = DemoTruth(
        tastes=tastes,
        query_intents=query_intents,
        review_sentiments=review_sentiments(events),
        judged_queries=judged,
        relevance=_relevance(seed, idx, judged),
    )
    return DemoStore(
        categories=categories,
        brands=list(catalog.brands),
        products=catalog.products,
        shoppers=shopper_rows,
        events=events,
        truth=truth,
    )
