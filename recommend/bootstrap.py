"""``make run`` step (after Training's bootstrap): default strategies and serving aggregates.

Idempotent and fast: creates the default strategy of any surface that has none, and computes
trending / bought-together / popular queries once so the first requests need not.
"""

from __future__ import annotations

import sys

from recommend import services
from recommend.serving import loaders


def run(*, stdout=None, style=None) -> None:
    out = stdout or sys.stdout
    created = services.strategy_ensure_defaults()
    if created:
        message = f"Serving: created default strategies {', '.join(created)}"
        out.write((style.SUCCESS(message) if style else message) + "\n")
    aggregates = services.aggregates_refresh()
    loaders.spell_corrector()  # built once now (and cached in Redis) rather than by the first search
    out.write(
        f"Serving: {len(aggregates.trending)} trending products, "
        f"{len(aggregates.bought_together)} products with bought-together, "
        f"{len(aggregates.popular_queries)} popular queries.\n"
    )
