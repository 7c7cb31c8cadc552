"""Factories for training: model versions, jobs, query labels, and a tiny synthetic store with
sessions (searches followed by clicks / carts / purchases) and rated reviews, for job tests that
do not need the full demo store."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from catalog.models import Event, EventType, Product, SearchLog, Shopper
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory
from training.models import Job, JobSchedule, ModelVersion, QueryLabel, Task

__all__ = [
    "JobFactory",
    "JobScheduleFactory",
    "ModelVersionFactory",
    "QueryLabelFactory",
    "TrainingStore",
    "build_training_store",
]


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A ready, inactive version (no artifact: a retriever then means its base encoder)."""

    class Meta:
        model = ModelVersion

    task = Task.RETRIEVER
    name = factory.Sequence(lambda n: f"version {n}")
    base = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384
    status = ModelVersion.Status.READY
    is_active = False


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "embed_catalog"
    params = factory.LazyFunction(
        lambda: {
            "version": None,
            "incremental": False,
            "batch_size": 128,
            "build_index": True,
            "device": "cpu",
        }
    )
    queue = "gpu"
    status = Job.Status.QUEUED


class JobScheduleFactory(factory.django.DjangoModelFactory):
    """A daily train_cf schedule (saved as is: ``training.schedules.schedule_save`` validates)."""

    class Meta:
        model = JobSchedule

    name = factory.Sequence(lambda n: f"nightly cf {n}")
    kind = "train_cf"
    params = factory.LazyFunction(dict)
    at = factory.LazyFunction(lambda: datetime(2026, 1, 1, 3, 0).time())


class QueryLabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueryLabel
        django_get_or_create = ("query",)

    query = factory.Sequence(lambda n: f"query {n}")
    label = "browse"


# --------------------------------------------------------------------------- a tiny store

CATEGORIES = {
    "headphones": (
        ["Wireless Headphones", "Noise Cancelling Headphones", "Bluetooth Earbuds"],
        [
            "wireless headphones",
            "noise cancelling headphones",
            "bluetooth earbuds",
            "headphones for music",
        ],
    ),
    "coffee": (
        ["Espresso Machine", "Drip Coffee Maker", "Burr Coffee Grinder"],
        ["espresso machine", "coffee maker", "coffee grinder", "machine for espresso"],
    ),
    "running": (
        ["Trail Running Shoes", "Road Running Shoes", "Lightweight Running Shoes"],
        ["running shoes", "trail runners", "shoes for jogging", "road running sneakers"],
    ),
    "yoga": (
        ["Non-Slip Yoga Mat", "Cork Yoga Block", "Yoga Strap"],
        ["yoga mat", "non slip mat", "yoga block", "mat for pilates"],
    ),
    "camping": (
        ["Two Person Tent", "Ultralight Sleeping Bag", "Camping Stove"],
        ["tent", "sleeping bag", "camping stove", "gear for camping"],
    ),
    "lamps": (
        ["LED Desk Lamp", "Dimmable Floor Lamp", "Clip-On Reading Light"],
        ["desk lamp", "floor lamp", "reading light", "lamp for the office"],
    ),
}
OPENERS = [
    "Honestly,",
    "After a month,",
    "In short:",
    "My verdict:",
    "Well,",
    "To be fair,",
    "Overall,",
]
SENTIMENT_WORDS = {
    "negative": [
        "terrible",
        "awful",
        "disappointing",
        "flimsy and cheap",
        "a waste of money",
        "broken on arrival",
    ],
    "neutral": [
        "okay",
        "average",
        "fine, nothing special",
        "decent but unremarkable",
        "mediocre",
        "so-so",
    ],
    "positive": ["excellent", "fantastic", "great value", "wonderful", "superb", "a joy to use"],
}
CLOSERS = {
    "negative": ["I returned it.", "Would not recommend.", "Avoid."],
    "neutral": ["It does the job.", "Neither good nor bad.", "Expected a bit more."],
    "positive": ["Highly recommend!", "Would buy again.", "Love it."],
}


def review_text(rng: random.Random, rating: int, kind: str) -> str:
    """A review whose wording agrees with its rating (1–2 negative, 3 neutral, 4–5 positive)."""
    sentiment = "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"
    return (
        f"{rng.choice(OPENERS)} the {kind.lower()} is {rng.choice(SENTIMENT_WORDS[sentiment])}. "
        f"{rng.choice(CLOSERS[sentiment])}"
    )


@dataclass
class TrainingStore:
    products: dict[str, list[Product]] = field(default_factory=dict)
    shoppers: list[Shopper] = field(default_factory=list)
    queries: dict[str, list[str]] = field(default_factory=dict)
    events: int = 0


def build_training_store(
    *,
    per_category: int = 6,
    shoppers: int = 20,
    sessions: int = 8,
    seed: int = 7,
    search_log: bool = True,
    reviews: bool = True,
) -> TrainingStore:
    """Products in six categories; shoppers whose sessions search a category's phrasing and then
    click / add to cart / buy one of its products (or only view it); rated reviews."""
    rng = random.Random(seed)
    store = TrainingStore()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    brands = [BrandFactory(name=name) for name in ("Voltic", "Casavia", "Stride", "Lumen")]
    for key, (kinds, queries) in CATEGORIES.items():
        category = CategoryFactory(external_id=f"tc-{key}", name=key.title())
        store.queries[key] = queries
        items = []
        for i in range(per_category):
            kind = kinds[i % len(kinds)]
            brand = brands[i % len(brands)]
            items.append(
                ProductFactory(
                    external_id=f"tp-{key}-{i}",
                    title=f"{brand.name} {kind} {i + 1}",
                    category=category,
                    brand=brand,
                    description=f"A {kind.lower()} for everyday use, model {i + 1}.",
                    price=Decimal(20 + 5 * i),
                )
            )
        store.products[key] = items
    events: list[Event] = []
    logs: list[SearchLog] = []
    n = 0
    for s in range(shoppers):
        shopper = Shopper.objects.create(external_id=f"ts-{seed}-{s}")
        store.shoppers.append(shopper)
        for k in range(sessions):
            key = rng.choice(list(CATEGORIES))
            query = rng.choice(store.queries[key])
            session = f"sess-{seed}-{s}-{k}"
            ts = start + timedelta(days=rng.randint(0, 40), minutes=rng.randint(0, 600))
            request_id = f"req-{seed}-{s}-{k}"
            if search_log:
                logs.append(
                    SearchLog(
                        query=query,
                        normalised_query=query,
                        shopper=shopper,
                        session=session,
                        result_count=10,
                        latency_ms=5.0,
                        request_id=request_id,
                        timestamp=ts,
                        shown_products=[
                            p.external_id
                            for p in rng.sample(
                                [p for items in store.products.values() for p in items], 5
                            )
                        ],
                    )
                )
            else:
                events.append(
                    Event(
                        event_id=f"e{seed}-{n}",
                        shopper=shopper,
                        type=EventType.SEARCH,
                        query=query,
                        session=session,
                        timestamp=ts,
                    )
                )
                n += 1
            product = rng.choice(store.products[key])
            outcome = rng.random()
            steps = [EventType.VIEW] if outcome < 0.3 else [EventType.CLICK, EventType.VIEW]
            if outcome > 0.6:
                steps.append(EventType.ADD_TO_CART)
            if outcome > 0.8:
                steps.append(EventType.PURCHASE)
            for step in steps:
                ts += timedelta(seconds=rng.randint(5, 90))
                events.append(
                    Event(
                        event_id=f"e{seed}-{n}",
                        shopper=shopper,
                        product=product,
                        type=step,
                        session=session,
                        timestamp=ts,
                        request_id=request_id if search_log else "",
                        position=1 if step == EventType.CLICK else None,
                    )
                )
                n += 1
            if reviews and rng.random() < 0.5:
                rating = rng.randint(1, 5)
                kind = product.title.split(" ", 1)[1].rsplit(" ", 1)[0]
                events.append(
                    Event(
                        event_id=f"e{seed}-{n}",
                        shopper=shopper,
                        product=product,
                        type=EventType.REVIEW,
                        value=float(rating),
                        review=review_text(rng, rating, kind),
                        session=f"{session}-later",
                        timestamp=ts + timedelta(days=3),
                    )
                )
                n += 1
    Event.objects.bulk_create(events, batch_size=2000)
    SearchLog.objects.bulk_create(logs, batch_size=2000)
    store.events = len(events) + len(logs)
    return store
