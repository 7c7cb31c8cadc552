"""Product filters of a serving request (search and every recommendation endpoint): one
implementation from the validated query parameters to the engine's filter mapping
(``category_id``/``brand_id`` sets, ``price`` :class:`Range`, ``in_stock``; see
``recommend.serving.retrievers.filter_sql``) and to the products a request leaves out by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from recommend import selectors
from recommend.engine.retrieval import Range
from recommend.serving.retrievers import product_ids_for_external


class UnknownCategory(ValueError):
    """The ``category`` filter names no category."""


class FilterParams(Protocol):
    category: str | None
    brand: str | None
    price_min: Decimal | float | None
    price_max: Decimal | float | None
    in_stock: bool | None


def build_filters(params: FilterParams) -> dict[str, Any]:
    """The engine filter mapping for the request; raises :class:`UnknownCategory`.

    ``category`` matches the category's whole subtree; ``brand`` a brand name
    case-insensitively (an unknown brand matches nothing); ``price_min``/``price_max`` are
    inclusive; ``in_stock`` true keeps products in stock, false those out of stock."""
    filters: dict[str, Any] = {}
    if params.category:
        ids = selectors.category_tree().subtree_ids(params.category)
        if ids is None:
            raise UnknownCategory(params.category)
        filters["category_id"] = set(ids)
    if params.brand:
        filters["brand_id"] = set(selectors.brand_ids(params.brand))
    if params.price_min is not None or params.price_max is not None:
        filters["price"] = Range(
            min=float(params.price_min) if params.price_min is not None else None,
            max=float(params.price_max) if params.price_max is not None else None,
        )
    if params.in_stock is not None:
        filters["in_stock"] = params.in_stock
    return filters


@dataclass(frozen=True)
class ProductFilters:
    """The filters of a recommendation request; ``exclude_ids`` are external ids to leave out
    (unknown ones are ignored)."""

    category: str | None = None
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool | None = None
    exclude_ids: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ProductFilters:
        """From a validated ``FilterQuery`` (``recommend.api.serializers``)."""
        return cls(
            category=params.get("category") or None,
            brand=params.get("brand") or None,
            price_min=params.get("price_min"),
            price_max=params.get("price_max"),
            in_stock=params.get("in_stock"),
            exclude_ids=tuple(params.get("exclude_ids") or ()),
        )

    def token(self) -> list[Any]:
        """Cache-key part: two requests with the same filters share a cached response."""
        return [
            self.category,
            (self.brand or "").lower() or None,
            self.price_min,
            self.price_max,
            self.in_stock,
            sorted(set(self.exclude_ids)),
        ]

    def engine(self) -> dict[str, Any]:
        """The engine filter mapping (raises :class:`UnknownCategory`)."""
        return build_filters(self)

    def excluded(self) -> set[int]:
        """Primary keys of the products ``exclude_ids`` names."""
        return excluded_pks(self.exclude_ids)


def excluded_pks(external_ids: Sequence[str]) -> set[int]:
    return set(product_ids_for_external(list(external_ids)).values()) if external_ids else set()


NO_FILTERS = ProductFilters()
