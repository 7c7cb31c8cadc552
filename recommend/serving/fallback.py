"""The recommendations' fallback chain: a shopper gets ``size`` results while enough active
products pass the request's exclusions and filters.

The fused list (CF, profile, interests, bought-together, trending, context; see
``recommend.serving.recs``) comes first. When it is short — no CF version, a CF model that does
not know the shopper, a profile with no near products, exclusions or filters that removed most
candidates — the rest is filled from the sources in chain order: ``cf`` → ``profile`` →
``interests`` → ``trending`` → ``popular`` (all-time popularity, ``Aggregates.popular``) →
``catalogue`` (the remaining active products, oldest first). Every source obeys the request's
filters and exclusions and the strategy's merchandising rules (out-of-stock hiding included).

Each item's explanation names the source that served it (``explanation.source``): for a fused
item the source with the largest weighted reciprocal-rank contribution, for a filled one the
source it was filled from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from recommend.engine.rules import RuleItem
from recommend.selectors import CategoryTree
from recommend.serving.context import ServingContext
from recommend.serving.merchandising import apply_merchandising
from recommend.serving.retrievers import PRODUCT_TABLE, ProductRow, filter_sql, product_rows

#: Fill order after the fused list.
CHAIN = ("cf", "profile", "interests", "trending", "popular", "catalogue")
#: Precedence among sources whose contributions to a fused item tie.
SOURCE_ORDER = ("context", "cf", "bought_together", "profile", "interests", "trending", "semantic")
#: Catalogue rows read beyond what is still needed (a few may be hidden by the rules).
CATALOGUE_MARGIN = 20


def dominant_source(
    sources: Mapping[str, tuple[int, float]], weights: Mapping[str, float], rrf_k: int
) -> str | None:
    """The source that contributed most to a fused item's RRF score (``weight / (k + rank)``);
    ties go to the earlier source of :data:`SOURCE_ORDER`."""
    order = [s for s in SOURCE_ORDER if s in sources] + sorted(set(sources) - set(SOURCE_ORDER))
    best, best_value = None, -1.0
    for name in order:
        rank = sources[name][0]
        value = float(weights.get(name, 1.0)) / (rrf_k + rank)
        if value > best_value:
            best, best_value = name, value
    return best


@dataclass
class Filled:
    """Items filled from the chain, with their rows and ``{id: (source, rank, raw score)}``."""

    items: list[RuleItem] = field(default_factory=list)
    rows: dict[int, ProductRow] = field(default_factory=dict)
    origin: dict[int, tuple[str, int, float]] = field(default_factory=dict)


def fill(
    ctx: ServingContext,
    need: int,
    *,
    taken: set[int],
    lists: Sequence[tuple[str, Sequence[tuple[int, float]]]],
    filters: Mapping[str, Any] | None,
    tree: CategoryTree,
) -> Filled:
    """Up to ``need`` products not in ``taken``, from ``lists`` in order, then the catalogue.

    ``lists`` are ``(source, [(product id, raw score)])`` best first; each candidate must pass
    ``filters`` and the merchandising rules (``taken`` grows with what is filled)."""
    out = Filled()
    if need <= 0:
        return out
    taken = set(taken)
    rrf_k = ctx.strategy.rrf_k

    def take(source: str, ranked: list[tuple[int, int, float]], rows) -> None:
        by_id = {pk: (rank, raw) for pk, rank, raw in ranked}
        scored = [(pk, 1.0 / (rrf_k + rank)) for pk, rank, _ in ranked if pk in rows]
        for item in apply_merchandising(ctx, scored, rows, tree).items:
            if len(out.items) >= need:
                return
            if item.id in taken:
                continue
            taken.add(item.id)
            out.items.append(item)
            out.rows[item.id] = rows[item.id]
            out.origin[item.id] = (source, *by_id[item.id])

    # The lists in order, each product at its first appearance; rows are read a chunk at a
    # time across list boundaries (one query in the common case), rules apply per source.
    sequence: list[tuple[str, int, int, float]] = []
    listed: set[int] = set()
    for source, pairs in lists:
        for rank, (pk, raw) in enumerate(pairs, start=1):
            if pk not in taken and pk not in listed:
                listed.add(pk)
                sequence.append((source, pk, rank, raw))
    chunk = max(need * 3, 60)
    for start in range(0, len(sequence), chunk):
        if len(out.items) >= need:
            return out
        part = sequence[start : start + chunk]
        rows = product_rows([pk for _, pk, _, _ in part], filters or None)
        for source in dict.fromkeys(source for source, *_ in part):
            take(source, [(pk, rank, raw) for s, pk, rank, raw in part if s == source], rows)
    # The rest of the catalogue: keyset pages over the active products that pass the filters.
    page_filters = dict(filters or {})
    if ctx.strategy.hide_out_of_stock and "in_stock" not in page_filters:
        page_filters["in_stock"] = True
    if ctx.strategy.hide_out_of_stock and page_filters["in_stock"] is False:
        return out  # only out-of-stock products pass, and the strategy hides them all
    after, position = 0, 0
    while len(out.items) < need:
        page = _catalogue_page(page_filters, after, taken, need - len(out.items) + CATALOGUE_MARGIN)
        if not page:
            break
        ranked = [(pk, position + i, 0.0) for i, pk in enumerate(page, start=1)]
        take("catalogue", ranked, product_rows(page, filters or None))
        position += len(page)
        after = page[-1]
    return out


def _catalogue_page(
    filters: Mapping[str, Any], after: int, skip: set[int], limit: int
) -> list[int]:
    where, params = filter_sql(filters, "p")
    sql = (
        f"SELECT p.id FROM {PRODUCT_TABLE} p WHERE {where} AND p.id > %s "
        f"AND NOT (p.id = ANY(%s)) ORDER BY p.id LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, after, sorted(skip)])
        return [row[0] for row in cursor.fetchall()]
