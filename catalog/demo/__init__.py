"""Deterministic demo store (catalog, shoppers, events, hidden truth) for Aisle.

Plain Python, no Django: ``catalog.demo.generator`` composes the plantings.
"""

from catalog.demo.generator import generate_store
from catalog.demo.index import StoreIndex, build_index
from catalog.demo.queries import sample_query
from catalog.demo.store import DemoStore, DemoTruth, grade
from catalog.demo.truth import write_truth

__all__ = [
    "DemoStore",
    "DemoTruth",
    "StoreIndex",
    "build_index",
    "generate_store",
    "grade",
    "sample_query",
    "write_truth",
]
