"""The ranker's intent features (stock, rating, price match): computed the same way at serving
(``feature_dicts``) and in training (``training.ranking_data``: ratings as of each list's time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from recommend.serving.features import EXTRA_FEATURES, FeatureInputs, feature_dicts


@dataclass
class Row:
    price: float
    category_id: int
    stock: int

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


def test_stock_rating_and_price_match_features():
    products = {
        1: Row(20.0, 7, 3),
        2: Row(22.0, 7, 0),
        3: Row(24.0, 7, 5),
        4: Row(26.0, 7, 1),
        5: Row(400.0, 7, 2),  # far above the list's band for category 7
        6: Row(50.0, 9, 2),  # the only one of its category: no band
    }
    ids = list(products)
    dicts = feature_dicts(
        ids,
        FeatureInputs(),
        {pk: row.price for pk, row in products.items()},
        {},
        products=products,
        ratings={1: (40, 4.8), 3: (1, 1.0)},
    )
    by = dict(zip(ids, dicts, strict=True))
    assert set(EXTRA_FEATURES) <= set(by[1])
    assert by[1]["in_stock"] == 1.0 and by[2]["in_stock"] == 0.0
    # many good ratings > one bad rating > none
    assert by[1]["rating"] > 0.8 > by[3]["rating"] > 0.0 == by[2]["rating"]
    # inside the band (the middle half of 20..400 in category 7) 1, far outside it less
    assert by[3]["price_match"] == 1.0 and by[5]["price_match"] < 0.1
    assert by[6]["price_match"] == 0.5  # no band to match
    # callers without product rows (none today) get neutral values, not a crash
    bare = feature_dicts([1], FeatureInputs(), {1: 20.0}, {})
    assert bare[0]["in_stock"] == 1.0 and bare[0]["rating"] == 0.0


@pytest.mark.django_db
def test_training_reads_ratings_as_of_each_list(serving_store):
    """A rating left after the list was shown must not be a feature of that list."""
    from catalog.models import Event
    from tests.factories.catalog import ShopperFactory
    from training.ranking_data import FeatureBuilder

    shopper = ShopperFactory(external_id="rater")
    product = serving_store.products["hp-1"]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for n, value in enumerate((5.0, 3.0, 1.0)):
        Event.objects.create(
            event_id=f"rate-{n}",
            shopper=shopper,
            product=product,
            type="rating" if n else "review",
            value=value,
            timestamp=start + timedelta(days=n),
        )
    builder = FeatureBuilder(retriever=None, cf_version=None)
    assert builder.ratings_at([product.pk], start) == {}
    assert builder.ratings_at([product.pk], start + timedelta(hours=1)) == {product.pk: (1, 5.0)}
    assert builder.ratings_at([product.pk], start + timedelta(days=1, hours=1)) == {
        product.pk: (2, 4.0)
    }
    assert builder.ratings_at([product.pk], start + timedelta(days=9)) == {product.pk: (3, 3.0)}
