"""A small store with one of each data problem planted, and the ids of what was planted."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from catalog.models import EventType
from tests.factories import (
    CategoryFactory,
    EventFactory,
    ModelVersionFactory,
    ProductFactory,
    ShopperFactory,
)

DIM = 16
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class PlantedStore:
    products: list = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    near_duplicates: list[int] = field(default_factory=list)
    short_title: int = 0
    short_description: int = 0
    outlier: int = 0
    inactive: int = 0
    bad_events: list[int] = field(default_factory=list)
    bot: int = 0
    shoppers: list = field(default_factory=list)
    orphan: int = 0
    unrated_reviews: list[int] = field(default_factory=list)
    retriever: object = None


@pytest.fixture
def planted_store(db):
    rng = random.Random(7)
    home = CategoryFactory(external_id="home", name="Home")
    kitchen = CategoryFactory(external_id="kitchen", name="Kitchen", parent=home)
    garden = CategoryFactory(external_id="garden", name="Garden", parent=home)
    orphan = CategoryFactory(external_id="attic", name="Attic", parent=home)
    store = PlantedStore(orphan=orphan.pk)
    words = ["oak", "steel", "linen", "clay", "glass", "cedar", "wool", "brass", "jute", "slate"]
    for i, word in enumerate(words):
        store.products.append(
            ProductFactory(
                title=f"{word.title()} kitchen tool {i}",
                category=kitchen,
                price=Decimal(20 + i),
            )
        )
        store.products.append(
            ProductFactory(
                title=f"{word.title()} garden planter {i}", category=garden, price=40 + 2 * i
            )
        )
    dup_a = ProductFactory(title="Steel Chef Knife", category=kitchen, price=Decimal("24.50"))
    dup_b = ProductFactory(title="steel  chef-knife!", category=kitchen, price=Decimal("25.00"))
    store.duplicates = [dup_a.pk, dup_b.pk]
    near_a = ProductFactory(title="Linen apron, natural", category=kitchen, price=22)
    near_b = ProductFactory(title="Natural linen apron", category=kitchen, price=23)
    store.near_duplicates = [near_a.pk, near_b.pk]
    store.short_title = ProductFactory(title="Kn", category=kitchen, price=21).pk
    store.short_description = ProductFactory(
        title="Cedar spice rack", description="  ", category=kitchen, price=26
    ).pk
    store.outlier = ProductFactory(title="Walnut cutting board", category=kitchen, price=2500).pk
    inactive = ProductFactory(title="Retired kettle", category=kitchen, price=28, active=False)
    store.inactive = inactive.pk
    live = list(store.products)

    hour = iter(range(10_000))  # every ordinary event in an hour of its own

    def at() -> datetime:
        return T0 + timedelta(hours=next(hour))

    for n in range(15):
        shopper = ShopperFactory(external_id=f"person-{n}")
        store.shoppers.append(shopper)
        for _ in range(3):
            EventFactory(shopper=shopper, product=rng.choice(live), type="click", timestamp=at())
    someone = store.shoppers[0]
    store.bad_events = [
        EventFactory(shopper=someone, product=inactive, type="view", timestamp=at()).pk
        for _ in range(3)
    ]
    store.bad_events.append(
        EventFactory(shopper=someone, product=None, type=EventType.PURCHASE, timestamp=at()).pk
    )
    EventFactory(
        shopper=someone, product=None, type=EventType.SEARCH, query="kettle", timestamp=at()
    )
    store.unrated_reviews = [
        EventFactory(
            shopper=store.shoppers[i], product=live[i], type="review", review="ok", timestamp=at()
        ).pk
        for i in (1, 2)
    ]
    EventFactory(
        shopper=store.shoppers[3],
        product=live[3],
        type="review",
        value=4,
        review="good",
        timestamp=at(),
    )
    bot = ShopperFactory(external_id="crawler-9")
    store.bot = bot.pk
    for s in range(120):
        EventFactory(
            shopper=bot,
            product=live[s % len(live)],
            type="view",
            timestamp=T0 + timedelta(seconds=s),
        )
    return store


@pytest.fixture
def planted_vectors(planted_store):
    """An active retriever whose stored vectors make the two aprons near-duplicates (and the
    exact-title knives identical), everything else seeded-random, with its HNSW index."""
    from catalog.models import Product
    from training import vectors
    from training.models import ProductEmbedding

    version = ModelVersionFactory(name="planted", dimension=DIM, is_active=True)
    rng = np.random.default_rng(3)
    rows = []
    apron = rng.normal(size=DIM)
    knife = rng.normal(size=DIM)
    for pk in Product.objects.values_list("pk", flat=True):
        if pk in planted_store.near_duplicates:
            vec = apron + rng.normal(scale=0.02, size=DIM)
        elif pk in planted_store.duplicates:
            vec = knife
        else:
            vec = rng.normal(size=DIM)
        rows.append(
            ProductEmbedding(
                product_id=pk, model_version=version, vector=vec.tolist(), text_hash="x"
            )
        )
    ProductEmbedding.objects.bulk_create(rows)
    vectors.ensure_hnsw_index(version.pk, DIM)
    planted_store.retriever = version
    return planted_store
