"""The shape of a result item in API responses."""

from __future__ import annotations

from typing import Any

from recommend.engine.explain import ItemEvidence, explanation
from recommend.selectors import CategoryTree
from recommend.serving.retrievers import ProductRow


def product_payload(row: ProductRow, tree: CategoryTree) -> dict[str, Any]:
    category = tree.by_id.get(row.category_id) if row.category_id else None
    return {
        "id": row.external_id,
        "title": row.title,
        "price": row.price,
        "currency": row.currency,
        "category": {"id": category.external_id, "name": category.name} if category else None,
        "brand": row.brand,
        "image_url": row.image_url,
        "in_stock": row.in_stock,
    }


def item_payload(
    row: ProductRow, tree: CategoryTree, score: float, evidence: ItemEvidence
) -> dict[str, Any]:
    return {
        "product": product_payload(row, tree),
        "score": round(float(score), 6),
        "explanation": explanation(evidence),
    }
