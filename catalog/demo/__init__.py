"""Deterministic demo store (catalog, shoppers, events, hidden truth) for Aisle.

Plain Python, no Django: ``catalog.demo.generator`` composes the plantings.

The base store is pinned (``tests/catalog/test_demo_store_hash.py``): the relevance bench,
the Academy's lab bars and the baselines are measured on it.  The rule that keeps it so:
**a new planting takes** ``streams.rng(name)`` (or ``streams.nrng(name)``) **and never draws
from the base stream.**  Today's catalog, shopper and traffic plantings share one
sequential stream (``streams.base``, ``streams.base_np``), and one more draw there would
shift everything after it; a named stream is seeded from (seed, name) alone, so adding a
planting adds its part and moves nothing else.  To add one: write ``plant(store,
streams)`` in a module of its own, reading the store and returning the new part, and list
it in ``generator.PLANTINGS``; its part lands in ``store.extras[name]``.
"""

from catalog.demo.generator import generate_store
from catalog.demo.index import StoreIndex, build_index
from catalog.demo.queries import sample_query
from catalog.demo.store import DemoStore, DemoTruth, grade
from catalog.demo.truth import write_planting_truth, write_truth

__all__ = [
    "DemoStore",
    "DemoTruth",
    "StoreIndex",
    "build_index",
    "generate_store",
    "grade",
    "sample_query",
    "write_planting_truth",
    "write_truth",
]
