"""The zero-result planting: searches the storefront served with no result, for the search
analytics' "Zero-result queries" list (and the Academy's cockpit lab) to find and fix.

Shoppers type words the catalogue never uses: a British or colloquial name for a product type
the store sells ("rucksack" for a backpack, "trainers" for sneakers). Lexical search finds
nothing for them; one synonym set ("rucksack, backpack") fixes the query. For each candidate
pair the planting keeps only those whose catalogue word occurs in at least ``MIN_PRODUCTS``
product titles and whose shopper word occurs nowhere in the store's product text, category
names, brands or logged queries, so the fix works on this store and nothing already answers the
query. ``COUNT`` of them are planted with clearly different volumes, so the worst one is unique.

The part returned (``store.extras["zero_results"]``): ``served`` (one row per planted search:
request id, shopper, session, query, time; the loader writes each as a served search with no
result — ``analytics.ServedRequest`` and ``catalog.SearchLog``, as the live search path does)
and ``truth`` (``zero_results.json``: the queries, worst first, with the catalogue word that
fixes each and its number of searches). Draws only from its own stream
(``streams.rng("zero_results")``): the base store and every other planting stay as they were.
Plain Python, no Django.
"""

from __future__ import annotations

from datetime import timedelta

from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "zero_results"
#: (the word shoppers type, the catalogue's word for it)
CANDIDATES = (
    ("rucksack", "backpack"),
    ("trainers", "sneakers"),
    ("skillet", "frying pan"),
    ("anorak", "rain jacket"),
    ("lippy", "lipstick"),
    ("cans", "headphones"),
    ("doona", "duvet"),
    ("hairwash", "shampoo"),
    ("jigsaws", "puzzle"),
    ("choccy", "chocolate"),
    ("handset", "smartphone"),
    ("frock", "dress"),
)
COUNT = 3
MIN_PRODUCTS = 3
#: planted searches per query, worst first (inclusive ranges that do not overlap)
VOLUMES = ((30, 36), (16, 22), (8, 12))
#: the searches fall in the window's last days (inside the analytics' default 7-day range)
DAYS = 5


def _store_text(store: DemoStore) -> str:
    parts = [str(c.get("name", "")) for c in store.categories]
    parts += [str(b) for b in store.brands]
    for p in store.products:
        parts += [p.get("title", ""), p.get("description", ""), str(p.get("brand") or "")]
        parts += [f"{k} {v}" for k, v in (p.get("attributes") or {}).items()]
    parts += [e.get("query") or "" for e in store.events if e["type"] == "search"]
    return " ".join(parts).lower()


def eligible_pairs(store: DemoStore) -> list[tuple[str, str]]:
    """The candidate pairs this store can plant: the catalogue word in at least
    ``MIN_PRODUCTS`` titles, the shopper word nowhere in the store's text or queries."""
    text = _store_text(store)
    titles = [p.get("title", "").lower() for p in store.products]
    return [
        (typed, word)
        for typed, word in CANDIDATES
        if typed not in text and sum(word in t for t in titles) >= MIN_PRODUCTS
    ]


def plant(store: DemoStore, streams: Streams) -> dict:
    """The planted zero-result searches and their truth (queries worst first, the fix word)."""
    rng = streams.rng(NAME)
    if not store.events or not store.shoppers:
        return {"served": [], "truth": {"queries": []}}
    pairs = eligible_pairs(store)
    chosen = rng.sample(pairs, min(COUNT, len(pairs)))
    last = max(e["timestamp"] for e in store.events)
    shoppers = [s["external_id"] for s in store.shoppers]
    served: list[dict] = []
    queries = []
    for (typed, word), (lo, hi) in zip(chosen, VOLUMES, strict=False):
        n = rng.randint(lo, hi)
        for _ in range(n):
            k = len(served) + 1
            served.append(
                {
                    "request_id": f"demo-zero-{k}",
                    "shopper": rng.choice(shoppers),
                    "session": f"demo-zero-{k}",
                    "query": typed,
                    "timestamp": last - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
                    "latency_ms": round(rng.uniform(12.0, 45.0), 1),
                }
            )
        queries.append({"query": typed, "fix": word, "searches": n})
    return {
        "served": served,
        "truth": {
            "rule": "searches served with no result for a word the catalogue never uses; "
            "a synonym set joining it to the catalogue word fixes the query",
            "queries": queries,
        },
    }
