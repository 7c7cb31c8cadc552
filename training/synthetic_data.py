"""Synthetic retriever training pairs for the store's catalogue: the Django side.

Reads the active products (and the configured generator, ``AISLE_GENERATOR_MODEL``), hands
them to the plain-Python rules of :mod:`training.ml.synthetic_queries`, and picks each pair's
hard negative from the current retriever's ranking (:func:`training.evaluation.rank_queries`
over its stored vectors: no re-embedding of the catalogue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from catalog.models import Product
from training import datasets
from training.ml.splits import Split, split_by_key
from training.ml.synthetic_queries import (
    PAIR_KIND,
    CatalogItem,
    SyntheticPair,
    mine_hard_negatives,
    rule_counts,
    synthesize_pairs,
)
from training.models import ModelVersion


@dataclass
class SyntheticData:
    """Synthetic pairs split by query (70/15/15, like mined pairs) and their snapshot."""

    split: Split[SyntheticPair]
    snapshot: dict[str, Any]
    negatives: dict[tuple[str, int], int] = field(default_factory=dict)

    def judgments(self, part: str = "test") -> dict[str, dict[int, float]]:
        """``{query: {product id: 1.0}}`` of one part (a sanity figure: the rules' own phrasing)."""
        out: dict[str, dict[int, float]] = {}
        for pair in self.split.parts()[part]:
            out.setdefault(pair.query, {})[pair.product_id] = 1.0
        return out


def catalog_items() -> list[CatalogItem]:
    """The active products as the synthesis rules see them (flagged ones left out while the
    job excludes flagged rows)."""
    from training.vectors import category_labels

    categories = category_labels()
    products = Product.objects.filter(active=True)
    if datasets.excluding_flagged():
        products = products.filter(exclude_from_training=False)
    rows = products.order_by("pk").values_list(
        "pk", "title", "brand__name", "category_id", "description", "attributes"
    )
    return [
        CatalogItem(
            id=pk,
            title=title or "",
            brand=brand or "",
            category=categories.get(category_id, ""),
            description=description or "",
            attributes=attributes if isinstance(attributes, dict) else {},
        )
        for pk, title, brand, category_id, description, attributes in rows.iterator(chunk_size=5000)
    ]


def synthetic_data(
    *,
    seed: int,
    per_rule: int = 1,
    max_products: int | None = None,
    generator_source: str | None = None,
    device: str | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> SyntheticData:
    """Synthetic pairs of the catalogue (a seeded sample of ``max_products`` products when
    given), with generated queries when a generator is configured (``generator_source``,
    default the ``AISLE_GENERATOR_MODEL`` setting), split by query with ``seed``."""
    import random

    items = catalog_items()
    if max_products and len(items) > max_products:
        items = sorted(random.Random(seed).sample(items, max_products), key=lambda i: i.id)
    source = settings.AISLE_GENERATOR_MODEL if generator_source is None else generator_source
    generator = None
    if source:
        from training.ml.generator import load_generator

        loaded = load_generator(source, device=device)
        generator = lambda texts: loaded.queries_for(texts, per_text=2, seed=seed)  # noqa: E731
        log(f"generating doc2query queries with {source}")
    pairs = synthesize_pairs(items, per_rule=per_rule, seed=seed, generator=generator)
    split = split_by_key(pairs, key_fn=lambda p: p.query, seed=seed, ratios=datasets.RATIOS)
    snapshot = {
        "source": "synthetic queries from the catalogue (title / attribute spans, category + "
        "attribute, brand + type" + (", generated" if generator else "") + ")",
        "kind": PAIR_KIND,
        "products": len(items),
        "pairs": len(pairs),
        "rules": rule_counts(pairs),
        "generator": source or "",
        "split": split.summary(),
    }
    return SyntheticData(split=split, snapshot=snapshot)


def retriever_negatives(
    pairs: list[SyntheticPair], *, version: ModelVersion | None, model, texts: dict[int, str]
) -> dict[tuple[str, int], int]:
    """Each pair's hard negative from ``version``'s ranking (its stored vectors, queries
    encoded with ``model``); empty without a version that has vectors."""
    from training import evaluation, selectors

    if version is None or model is None or not selectors.embedding_count(version):
        return {}
    queries = sorted({p.query for p in pairs})
    ranked = evaluation.rank_queries(model, version, queries, depth=20)
    candidates = {pid for ids in ranked.values() for pid in ids} - set(texts)
    texts.update(datasets.product_texts_by_id(candidates))
    return mine_hard_negatives(pairs, ranked, texts)
