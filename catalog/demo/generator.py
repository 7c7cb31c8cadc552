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
writes the truth files.  Then every planting in ``PLANTINGS`` adds its part.

Determinism: all randomness flows from the named streams of ``catalog.demo.streams``,
seeded from ``seed``; the global generators are never used, and every iteration is over
ordered containers.  Same arguments -> identical store.

The pieces a traffic simulator reuses later are ``grade(spec, product)``,
``sample_query(rng, taste, index)`` and ``StoreIndex`` (``build_index(store)``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from catalog.demo.churners import plant_churners
from catalog.demo.events import _Sim, simulate_events
from catalog.demo.images import NAME as IMAGES
from catalog.demo.images import plant_images
from catalog.demo.index import StoreIndex
from catalog.demo.judged import plant_judged_queries, plant_relevance
from catalog.demo.judged_heldout import plant_heldout_judged
from catalog.demo.knowledge import NAME as KNOWLEDGE
from catalog.demo.knowledge import plant as plant_knowledge
from catalog.demo.products import CatalogBuilder, build_categories
from catalog.demo.reviews import review_sentiments
from catalog.demo.sentiment_spike import NAME as SENTIMENT_SPIKE
from catalog.demo.sentiment_spike import plant as plant_sentiment_spike
from catalog.demo.shoppers import make_shoppers
from catalog.demo.stockouts import plant_stockouts
from catalog.demo.store import DemoStore, DemoTruth
from catalog.demo.streams import Streams
from catalog.demo.thin_descriptions import NAME as THIN_DESCRIPTIONS
from catalog.demo.thin_descriptions import plant_thin_descriptions
from catalog.demo.zero_results import NAME as ZERO_RESULTS
from catalog.demo.zero_results import plant as plant_zero_results

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)

Planting = Callable[[DemoStore, Streams], object]

#: Plantings added on top of the base store, in order: name -> ``plant(store, streams)``.
#: A planting reads the store (never changes it), draws only from ``streams.rng(name)`` /
#: ``streams.nrng(name)`` and returns its part, which lands in ``store.extras[name]``.
PLANTINGS: dict[str, Planting] = {
    SENTIMENT_SPIKE: plant_sentiment_spike,  # one product's reviews turn negative on a known day
    "churners": plant_churners,  # regulars whose visits decay (churn risk, issue 16)
    "stockouts": plant_stockouts,  # steady sellers with little stock left (demand forecast)
    # judged queries in a grammar no other query writer uses (the synthetic-query evaluation)
    "judged_heldout": plant_heldout_judged,
    # searches served with no result for words the catalogue never uses (search analytics)
    ZERO_RESULTS: plant_zero_results,
    # the help centre, product Q&A, support searches and judged support questions (issue 18)
    KNOWLEDGE: plant_knowledge,
    # products with missing or thin descriptions (the generate_copy job drafts copy for them)
    THIN_DESCRIPTIONS: plant_thin_descriptions,
    # a picture spec per product (shape by category, colour, pattern, view): search by image
    IMAGES: plant_images,
}


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
    streams = Streams(seed)
    # the base plantings: catalog, shoppers and traffic share the base streams in this order
    rng, nrng = streams.base, streams.base_np

    catalog = CatalogBuilder(rng, products)
    categories = build_categories()
    plain = StoreIndex(catalog.products, popularity=catalog.popularity)
    judged = plant_judged_queries(streams.rng("judged"), plain)
    idx = StoreIndex(
        catalog.products, popularity=catalog.popularity, avoid=[j["query"] for j in judged]
    )
    shopper_rows, tastes, activity, signups = make_shoppers(rng, shoppers, idx, catalog, end, days)

    end_ts = end.timestamp()
    start_ts = end_ts - days * 86400
    sim = _Sim(rng, nrng, idx, catalog, start_ts, end_ts)
    pids = [p["external_id"] for p in catalog.products]
    events = simulate_events(sim, shopper_rows, tastes, activity, signups, pids)
    streams.seal()

    used = dict.fromkeys(e["query"] for e in events if e["type"] == "search")
    query_intents = [{"query": q, "intent": sim.intents[q]} for q in sorted(used)]
    truth = DemoTruth(
        tastes=tastes,
        query_intents=query_intents,
        review_sentiments=review_sentiments(events),
        judged_queries=judged,
        relevance=plant_relevance(streams.rng("relevance"), idx, judged),
    )
    store = DemoStore(
        categories=categories,
        brands=list(catalog.brands),
        products=catalog.products,
        shoppers=shopper_rows,
        events=events,
        truth=truth,
    )
    for name, plant in PLANTINGS.items():
        store.extras[name] = plant(store, streams)
    return store
