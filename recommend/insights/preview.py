"""What a shopper sees, for the shopper page: their recommendations and a search as them, each
item with its explanation, served read-only (``ServingContext.read_only``): no search log,
exposure, served request or assignment, no cached result and no profile refresh request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recommend.insights.logic.explain_text import explanation_text


@dataclass
class Preview:
    """What the shopper is served: their recommendations and (with a query) their search, each
    item with its explanation, plus the strategy and variant they get."""

    strategy: str
    variant: str | None
    recommendations: list[dict[str, Any]]
    search: list[dict[str, Any]] | None
    query: str
    corrected_query: str | None = None
    search_strategy: str = ""
    search_variant: str | None = None


def _items(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "external_id": r["product"]["id"],
            "title": r["product"]["title"],
            "category": (r["product"].get("category") or {}).get("name", ""),
            "score": r["score"],
            "why": explanation_text({**r["explanation"], "source": r["explanation"].get("source")}),
        }
        for r in results
    ]


def shopper_preview(shopper_external_id: str, *, query: str = "", size: int = 10) -> Preview:
    """Serve the shopper's recommendations and search as them, read-only: the serving path with
    ``read_only`` set writes no search log, exposure, served request or assignment, caches
    nothing and requests no profile refresh."""
    from recommend.serving import recs, search
    from recommend.serving.context import serving_context
    from recommend.serving.recs import RecsParams

    now = datetime.now(UTC)
    ctx = serving_context(
        "recommendations",
        shopper_external_id=shopper_external_id,
        session="",
        now=now,
        simulated=False,
        read_only=True,
    )
    items = _items(recs.recommendations(RecsParams(size=size), ctx))
    preview = Preview(
        strategy=ctx.strategy.name,
        variant=ctx.variant,
        recommendations=items,
        search=None,
        query=query,
    )
    if query.strip():
        sctx = serving_context(
            "search",
            shopper_external_id=shopper_external_id,
            session="",
            now=now,
            simulated=False,
            read_only=True,
        )
        body = search.search(search.SearchParams(q=query.strip()[:256], size=size), sctx)
        preview.search = _items(body["results"])
        preview.corrected_query = body.get("corrected_query")
        preview.search_strategy = sctx.strategy.name
        preview.search_variant = sctx.variant
    return preview
