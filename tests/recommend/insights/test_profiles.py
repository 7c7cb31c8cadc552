"""Shopper profiles and segments on the real database: the job's snapshots (now and backfilled),
embeddings and segments named after their categories; forget removes the shopper from every
insight table; an experiment's assignment freezes the segment the shopper had then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from catalog.models import Shopper
from catalog.services.privacy import shopper_forget
from recommend.insights.models import ProfileSnapshot, Segment, ShopperInsight
from recommend.insights.selectors import profiles as selectors
from recommend.insights.services import profiles as services
from tests.factories.catalog import EventFactory, ShopperFactory
from tests.factories.recommend import DIMENSION, write_vectors

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, tzinfo=UTC)
GROUPS = {
    "cof": ["kt-1", "kt-2", "kt-3", "kt-4"],
    "run": ["sh-1", "sh-2", "sh-3"],
    "aud": ["hp-1", "hp-2", "hp-3", "hp-4"],
}


def category_vectors(store, seed: int = 7) -> None:
    """Product vectors that carry their category (one direction per category plus noise per
    product), as a trained retriever's would: the store's hashing vectors mostly carry words."""
    from training.models import ProductEmbedding

    rng = np.random.default_rng(seed)
    products = sorted(store.products.values(), key=lambda p: p.pk)
    axes = {c: rng.standard_normal(DIMENSION) for c in {p.category_id for p in products}}
    matrix = np.stack(
        [axes[p.category_id] + 0.6 * rng.standard_normal(DIMENSION) for p in products]
    )
    ProductEmbedding.objects.filter(model_version=store.retriever).delete()
    write_vectors(store.retriever.pk, [p.pk for p in products], matrix)


def build_shoppers(store, *, per_group: int = 6, now: datetime = NOW) -> dict[str, list]:
    """Shoppers in three taste groups; each views and buys in their group's category, and the
    coffee group ran (sport) 40 days ago before turning to coffee."""
    category_vectors(store)
    out: dict[str, list] = {}
    for group, products in GROUPS.items():
        for n in range(per_group):
            shopper = ShopperFactory(external_id=f"{group}-{n}")
            # every shopper views their group's products (a different mix each) and the even
            # ones buy one of them
            for i in range(len(products) + n % 3):
                EventFactory(
                    shopper=shopper,
                    product=store.products[products[(i + n) % len(products)]],
                    type="purchase" if (i == 0 and n % 2 == 0) else "view",
                    timestamp=now - timedelta(days=1 + i, hours=n),
                )
            if group == "cof":
                for i in range(3):
                    EventFactory(
                        shopper=shopper,
                        product=store.products["sh-2"],
                        type="view",
                        timestamp=now - timedelta(days=40 + i),
                    )
            out.setdefault(group, []).append(shopper)
    return out


def run(store, **kwargs):
    return services.shopper_segments_run(
        as_of=NOW, retriever_id=store.retriever.pk, k_max=5, **kwargs
    )


def test_segments_follow_the_taste_groups_and_are_named_after_them(serving_store):
    groups = build_shoppers(serving_store)
    outcome = run(serving_store)
    assert outcome.k == 3 and outcome.clustered == 18
    names = {
        group: {ShopperInsight.objects.get(shopper=s).segment.name for s in shoppers}
        for group, shoppers in groups.items()
    }
    assert all(len(found) == 1 for found in names.values())  # a group is one segment
    assert names["cof"].pop().startswith("Coffee")
    assert names["run"].pop().startswith("Running")
    assert names["aud"].pop().startswith("Headphones")
    segment = Segment.objects.get(name__startswith="Coffee")
    assert segment.size == 6 and segment.conversion_rate == 0.5  # 3 of 6 bought this month


def test_snapshots_show_how_interests_changed_over_30_days(serving_store):
    groups = build_shoppers(serving_store)
    outcome = run(serving_store)
    assert outcome.snapshots == 18 and outcome.backfilled == 6  # only the coffee group was active
    page = selectors.shopper_page(groups["cof"][0])
    rows = {row.name: row for row in page.categories}
    assert page.before_day == (NOW - timedelta(days=30)).date()
    assert rows["Coffee"].now > 0.9 and rows["Coffee"].before == 0.0
    assert rows["Running"].before == 1.0 and rows["Running"].change < -0.9
    assert abs(sum(r.now for r in page.brands) - 1.0) < 1e-3
    # a second run the same day keeps the backfilled day and replaces today's
    assert run(serving_store).backfilled == 0
    assert ProfileSnapshot.objects.filter(shopper=groups["cof"][0]).count() == 2


def test_shopper_page_nearest_shoppers_products_and_timeline(
    serving_store, django_assert_max_num_queries
):
    groups = build_shoppers(serving_store)
    run(serving_store)
    shopper = groups["run"][0]
    with django_assert_max_num_queries(15):
        page = selectors.shopper_page(shopper)
    assert {n["external_id"][:3] for n in page.nearest_shoppers[:5]} == {"run"}
    assert page.nearest_products[0]["external_id"].startswith("sh-")
    assert [e["product"] for e in page.events] == ["sh-1", "sh-2", "sh-3"]


def test_forget_removes_the_shopper_from_every_insight_table(serving_store):
    groups = build_shoppers(serving_store)
    run(serving_store)
    gone, kept = groups["cof"][0], groups["cof"][1]
    assert ProfileSnapshot.objects.filter(shopper=gone).exists()
    report = shopper_forget(external_id=gone.external_id, mode="anonymise", actor=None)
    assert report["profile_snapshots"] == 2 and report["shopper_insights"] == 1
    for model in (ProfileSnapshot, ShopperInsight):
        assert not model.objects.filter(shopper_id=gone.pk).exists(), model.__name__
    assert ShopperInsight.objects.filter(shopper=kept).exists()
    neighbours = selectors.shopper_page(kept).nearest_shoppers
    assert gone.external_id not in {n["external_id"] for n in neighbours}
    assert not Shopper.objects.filter(external_id=gone.external_id).exists()
