"""Factories for catalog: categories (with their materialised path), brands, products,
shoppers, events and search logs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from catalog.models import Brand, Category, Event, EventType, Product, SearchLog, Shopper
from catalog.search_text import product_search_text

__all__ = [
    "BrandFactory",
    "CategoryFactory",
    "EventFactory",
    "ProductFactory",
    "SearchLogFactory",
    "ShopperFactory",
]


class CategoryFactory(factory.django.DjangoModelFactory):
    """A category; ``path`` / ``depth`` follow ``parent`` as the import service keeps them."""

    class Meta:
        model = Category
        django_get_or_create = ("external_id",)

    external_id = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None
    path = factory.LazyAttribute(
        lambda c: f"{c.parent.path}/{c.external_id}" if c.parent else c.external_id
    )
    depth = factory.LazyAttribute(lambda c: c.parent.depth + 1 if c.parent else 0)


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Brand {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A product with its ``search_text`` filled like the import service does."""

    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"sku-{n:05d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A dependable everyday product."
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    price = Decimal("19.90")
    currency = "EUR"
    stock = 10
    attributes = factory.LazyFunction(lambda: {"color": "black"})
    image_url = ""
    active = True
    search_text = factory.LazyAttribute(
        lambda p: product_search_text(
            brand=p.brand.name if p.brand else None,
            attributes=p.attributes,
            category_names=[p.category.name] if p.category else [],
        )
    )


class ShopperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shopper
        django_get_or_create = ("external_id",)

    external_id = factory.Sequence(lambda n: f"shopper-{n}")
    segment = "mainstream"
    country = "DE"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    event_id = factory.Sequence(lambda n: f"ev-{n}")
    shopper = factory.SubFactory(ShopperFactory)
    product = factory.SubFactory(ProductFactory)
    type = EventType.VIEW
    timestamp = factory.Sequence(lambda n: datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=n))


class SearchLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SearchLog

    query = "running shoes"
    normalised_query = factory.LazyAttribute(lambda s: s.query.lower().strip())
    shopper = factory.SubFactory(ShopperFactory)
    result_count = 10
    latency_ms = 12.5
    request_id = factory.Sequence(lambda n: f"req-{n}")
    timestamp = factory.LazyFunction(lambda: datetime.now(UTC))
