"""``make run`` step (after Training's bootstrap): default strategies, serving aggregates and
the analytics rollups.

Idempotent and fast: creates the default strategy of any surface that has none (and the
default intent behaviours of search strategies, as rows the admin edits), computes
trending / bought-together / popular queries once so the first requests need not, and brings the
rollups up to date so the admin home shows the store's figures from the first page, not a minute
later when beat first runs.
"""

from __future__ import annotations

import sys

from recommend import services
from recommend.analytics import rollups
from recommend.serving import loaders


def run(*, stdout=None, style=None) -> None:
    out = stdout or sys.stdout
    created = services.strategy_ensure_defaults()
    if created:
        message = f"Serving: created default strategies {', '.join(created)}"
        out.write((style.SUCCESS(message) if style else message) + "\n")
    services.intent_behaviours_ensure_defaults()
    rolled = rollups.refresh()  # before the aggregates: exploration's pool reads the rollups
    aggregates = services.aggregates_refresh()
    loaders.spell_corrector()  # built once now (and cached in Redis) rather than by the first search
    out.write(
        f"Serving: {len(aggregates.trending)} trending products, "
        f"{len(aggregates.bought_together)} products with bought-together, "
        f"{len(aggregates.popular_queries)} popular queries; analytics rollups for {rolled.days} days.\n"
    )
