"""The denormalised text of a product that lives outside its own columns (plain Python).

``Product.search_text`` = brand name, the names along its category path, its attribute values
and, for text in a script written without spaces (Chinese, Japanese, Thai), the words of its
title and description as :mod:`catalog.segmentation` cuts them. The generated full-text column
(weight B) reads it, so every writer (import service, demo store, admin) builds it here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog.segmentation import document_words


def attribute_values(attributes: Mapping[str, Any]) -> list[str]:
    """Attribute values as words, in key order (JSONB does not keep the file's order):
    scalars as text, lists flattened; keys are not included."""
    values: list[str] = []
    for _key, value in sorted(attributes.items()):
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if item is None or isinstance(item, (dict, list)):
                continue
            if isinstance(item, bool):
                continue  # "true" says nothing a shopper would type
            text = str(item).strip()
            if text:
                values.append(text)
    return values


def product_search_text(
    *,
    brand: str | None,
    category_names: Iterable[str],
    attributes: Mapping[str, Any],
    title: str = "",
    description: str = "",
    language: str = "auto",
) -> str:
    names = [n for n in category_names if n]
    values = attribute_values(attributes or {})
    parts = [brand or "", " > ".join(names), " ".join(values)]
    # the segmented words of every unspaced run: title, description, brand, categories, values
    unspaced = " ".join([title, brand or "", *names, *values, description])
    parts.append(document_words(unspaced, language=language))
    return " | ".join(p for p in parts if p)


def category_path_names(path: str, names_by_external_id: Mapping[str, str]) -> list[str]:
    """Names from the root to the category, given its materialised path of external ids."""
    if not path:
        return []
    return [names_by_external_id.get(part, part) for part in path.split("/")]
