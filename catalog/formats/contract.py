"""The file contract: the kinds, the formats and each kind's columns (name, type, required,
help) as docs/catalog.md and the admin Import page show them."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("products", "categories", "shoppers", "events")
FORMATS = ("csv", "jsonl")
EVENT_TYPES = ("search", "view", "click", "add_to_cart", "purchase", "rating", "review")


@dataclass(frozen=True)
class Column:
    """One column of the contract (CSV header name; the same key in JSON Lines)."""

    name: str
    type: str
    required: bool
    help: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "products": (
        Column("external_id", "text ≤128", True, "The storefront's id of the product (unique)."),
        Column("title", "text ≤500", True, "Product name as shown to shoppers."),
        Column("description", "text ≤100000", False, "Free text; empty by default."),
        Column(
            "category",
            "category external id",
            False,
            "The category's external_id; empty for none; an unknown id is an error.",
        ),
        Column("brand", "text ≤200", False, "Brand name; created when new; empty for none."),
        Column("price", "decimal ≥0, 2 places", True, "Price in `currency`, e.g. 19.90."),
        Column("currency", "ISO 4217 code", False, "Three letters; default EUR."),
        Column("stock", "integer ≥0", False, "Units in stock; default 0 (out of stock)."),
        Column("image_url", "http(s) URL", False, "Absolute image address; empty by default."),
        Column(
            "attributes",
            "JSON object",
            False,
            'E.g. {"colour": "red", "size": "M"}; default {}. Values are searchable.',
        ),
        Column(
            "active",
            "boolean",
            False,
            "true/false (also 1/0, yes/no); default true. Inactive products are never served.",
        ),
    ),
    "categories": (
        Column("external_id", "text ≤128, no '/'", True, "The storefront's id of the category."),
        Column("name", "text ≤200", True, "Display name."),
        Column(
            "parent",
            "category external id",
            False,
            "The parent's external_id (in the same file or already imported); empty for a top-level category.",
        ),
    ),
    "shoppers": (
        Column(
            "external_id", "text ≤128", True, "The storefront's id of the shopper (pseudonymous)."
        ),
        Column("segment", "text ≤64", False, "A marketing segment, e.g. bargain, premium."),
        Column("country", "ISO 3166 alpha-2", False, "Two letters, e.g. DE."),
        Column("signup_date", "ISO 8601 date", False, "E.g. 2024-03-01."),
        Column("attributes", "JSON object", False, "Any other profile fields; default {}."),
    ),
    "events": (
        Column(
            "event_id",
            "text ≤128",
            False,
            "Idempotency key. Optional in files (a stable hash of shopper, type, product, "
            "timestamp and query stands in); required by POST /api/v1/events.",
        ),
        Column("shopper", "shopper external id", True, "Unknown shoppers are created."),
        Column("type", "one of " + ", ".join(EVENT_TYPES), True, "What the shopper did."),
        Column(
            "product",
            "product external id",
            False,
            "Required for every type but search; an unknown product is an error.",
        ),
        Column(
            "timestamp",
            "ISO 8601 date-time",
            True,
            "When it happened; a time without a zone is UTC.",
        ),
        Column("query", "text ≤500", False, "The search text (required for search events)."),
        Column(
            "position",
            "integer ≥0",
            False,
            "Rank of the product in the result the shopper acted on.",
        ),
        Column(
            "value",
            "number",
            False,
            "The rating 1-5 (required for rating, optional for review) or the price paid (purchase).",
        ),
        Column("review", "text", False, "Review text (required for review events)."),
        Column("session", "text ≤128", False, "The storefront's session id."),
        Column(
            "request_id",
            "text ≤64",
            False,
            "The request_id of the served search/recommendation this event answers (links it to an experiment variant).",
        ),
    ),
}


def column_names(kind: str) -> tuple[str, ...]:
    return tuple(c.name for c in COLUMNS[kind])


def required_columns(kind: str, *, require_event_id: bool = False) -> tuple[str, ...]:
    names = [c.name for c in COLUMNS[kind] if c.required]
    if kind == "events" and require_event_id:
        names.insert(0, "event_id")
    return tuple(names)
