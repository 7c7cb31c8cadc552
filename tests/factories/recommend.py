"""Factories for recommend: strategies and merchandising rules; plus a small serving store
(categories, brands, products, an active retriever version with vectors and its HNSW index)
and a deterministic hashing encoder that stands in for the real model in fast tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import factory
import numpy as np

from recommend.models import BoostRule, PinnedResult, Strategy, SynonymSet
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory

__all__ = [
    "BoostRuleFactory",
    "HashingEncoder",
    "PinnedResultFactory",
    "ServingStore",
    "StrategyFactory",
    "SynonymSetFactory",
    "build_serving_store",
    "write_vectors",
]

DIMENSION = 384


class StrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strategy

    name = factory.Sequence(lambda n: f"strategy-{n}")
    surface = "search"
    is_default = False


class SynonymSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SynonymSet

    kind = SynonymSet.Kind.EQUIVALENT
    terms = "tv, television"


class PinnedResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PinnedResult

    query = "headphones"
    product = factory.SubFactory(ProductFactory)
    position = 1


class BoostRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BoostRule

    name = factory.Sequence(lambda n: f"rule-{n}")
    field = BoostRule.Field.BRAND
    brand = factory.SubFactory(BrandFactory)
    category = None
    factor = 3.0


class HashingEncoder:
    """Bag of (lightly stemmed) words, each word a fixed pseudo-random dense unit vector seeded
    by its hash; the text's vector is their normalised sum.

    Texts sharing words get a clearly positive cosine, unrelated texts about zero (±0.05 in
    384 dimensions): a stand-in retriever whose behaviour a test can predict, with no model
    download. Dense, so an HNSW graph over these vectors behaves as over real embeddings.
    """

    def __init__(self, dimension: int = DIMENSION) -> None:
        self.dimension = dimension
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vector = self._words.get(word)
        if vector is None:
            seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            vector /= np.linalg.norm(vector)
            self._words[word] = vector
        return vector

    def __call__(self, text: str) -> np.ndarray:
        from recommend.engine.explain import light_stem
        from recommend.engine.text import tokenize

        vector = np.zeros(self.dimension, dtype=np.float32)
        for token in dict.fromkeys(light_stem(t) for t in tokenize(text)):
            vector += self._word(token)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def many(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        return (
            np.stack([self(t) for t in texts])
            if texts
            else np.zeros((0, self.dimension), np.float32)
        )


def write_vectors(
    version_id: int, product_ids: Sequence[int], vectors: np.ndarray, *, index: bool = True
) -> None:
    """Write vectors the way the embedding job does (binary COPY) and build the version's
    partial HNSW index with the same expression."""
    from training import vectors as training_vectors

    training_vectors.write_embeddings(
        version_id,
        list(product_ids),
        np.asarray(vectors, dtype=np.float32),
        ["0" * 32] * len(product_ids),
    )
    if index:
        training_vectors.ensure_hnsw_index(version_id, vectors.shape[1])


@dataclass
class ServingStore:
    retriever: object
    categories: dict[str, object] = field(default_factory=dict)
    brands: dict[str, object] = field(default_factory=dict)
    products: dict[str, object] = field(default_factory=dict)


CATALOG = [
    # external id, title, category, brand, price, stock
    ("hp-1", "Voltic wireless noise cancelling headphones", "headphones", "Voltic", "129.00", 5),
    ("hp-2", "Auralis over-ear studio headphones", "headphones", "Auralis", "199.00", 3),
    ("hp-3", "Voltic sport earbuds with charging case", "headphones", "Voltic", "59.00", 0),
    ("hp-4", "Pixelon kids headphones volume limited", "headphones", "Pixelon", "25.00", 12),
    ("lt-1", "Pixelon 14 inch laptop with backlit keyboard", "laptops", "Pixelon", "899.00", 4),
    ("lt-2", "Nordtek gaming laptop 16 inch", "laptops", "Nordtek", "1499.00", 2),
    ("lt-3", "Auralis ultralight laptop sleeve", "laptops", "Auralis", "39.00", 20),
    ("tv-1", "Lumora 55 inch television 4k", "tv", "Lumora", "649.00", 6),
    ("tv-2", "Quanta 43 inch smart tv", "tv", "Quanta", "379.00", 9),
    ("kt-1", "Brewhaus espresso machine with milk frother", "coffee", "Brewhaus", "349.00", 7),
    ("kt-2", "Kettleby electric kettle 1.7 litre", "coffee", "Kettleby", "35.00", 30),
    ("kt-3", "Brewhaus burr coffee grinder", "coffee", "Brewhaus", "89.00", 11),
    ("kt-4", "Casavia french press coffee maker", "coffee", "Casavia", "29.00", 15),
    ("sh-1", "Stridex trail running shoes waterproof", "running", "Stridex", "119.00", 8),
    ("sh-2", "Stridex road running shoes lightweight", "running", "Stridex", "99.00", 14),
    ("sh-3", "Pacewell running socks three pack", "running", "Pacewell", "15.00", 40),
]
TREE = {
    "electronics": None,
    "headphones": "electronics",
    "laptops": "electronics",
    "tv": "electronics",
    "home": None,
    "coffee": "home",
    "sport": None,
    "running": "sport",
}


def build_serving_store(
    *,
    filler: int = 0,
    encoder: HashingEncoder | None = None,
    rare_category: int = 0,
    index: bool = True,
) -> ServingStore:
    """The small catalogue above (plus ``filler`` generic products, and ``rare_category``
    products in a "rare" category), an active retriever version, and hashed vectors for all."""
    from catalog.models import Product
    from tests.factories.training import ModelVersionFactory
    from training.ml.encoders import product_text

    encoder = encoder or HashingEncoder()
    store = ServingStore(
        retriever=ModelVersionFactory(
            task="retriever", is_active=True, dimension=DIMENSION, name="test retriever"
        )
    )
    for external_id, parent in TREE.items():
        store.categories[external_id] = CategoryFactory(
            external_id=external_id,
            name=external_id.capitalize(),
            parent=store.categories[parent] if parent else None,
        )
    for external_id, title, category, brand, price, stock in CATALOG:
        brand_row = store.brands.get(brand) or BrandFactory(name=brand)
        store.brands[brand] = brand_row
        store.products[external_id] = ProductFactory(
            external_id=external_id,
            title=title,
            category=store.categories[category],
            brand=brand_row,
            price=Decimal(price),
            stock=stock,
            description="",
        )
    if filler or rare_category:
        generic = store.categories.setdefault(
            "misc", CategoryFactory(external_id="misc", name="Misc")
        )
        rare = (
            store.categories.setdefault("rare", CategoryFactory(external_id="rare", name="Rare"))
            if rare_category
            else None
        )
        brand_row = BrandFactory(name="Genero")
        store.brands["Genero"] = brand_row
        words = [
            "blue",
            "green",
            "storage",
            "box",
            "lamp",
            "desk",
            "chair",
            "mug",
            "towel",
            "candle",
            "frame",
            "basket",
            "pillow",
            "rug",
            "clock",
            "vase",
        ]
        objs = []
        for i in range(filler + rare_category):
            title = f"{words[i % 16]} {words[(i * 7 + 3) % 16]} item {i}"
            category = rare if i < rare_category else generic
            objs.append(
                Product(
                    external_id=f"f-{i:05d}",
                    title=title,
                    description="",
                    category=category,
                    brand=brand_row,
                    price=Decimal(10 + i % 90),
                    stock=5,
                    search_text=f"Genero | {category.name}",
                )
            )
        Product.objects.bulk_create(objs, batch_size=2000)
    products = list(Product.objects.select_related("brand", "category").order_by("pk"))
    texts = [
        product_text(
            p.title,
            p.brand.name if p.brand else None,
            p.category.name if p.category else None,
            p.description,
        )
        for p in products
    ]
    write_vectors(store.retriever.pk, [p.pk for p in products], encoder.many(texts), index=index)
    return store
