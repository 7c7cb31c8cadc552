"""Deterministic demo store (catalog, shoppers, events, hidden truth) for Aisle.

Plain Python, no Django: see ``catalog.demo.generator``.
"""

from catalog.demo.generator import (
    DemoStore,
    DemoTruth,
    StoreIndex,
    build_index,
    generate_store,
    grade,
    sample_query,
    write_truth,
)

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
