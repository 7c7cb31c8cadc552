"""``run_job data_value``: on a store where purchases follow what shoppers want (the cheapest
item of a list) and clicks are random, the ablation ranks purchases first and reads the clicks
as no measurable value; no model version is created; the report records the curve."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Event, SearchLog
from tests.factories.catalog import ShopperFactory
from training import services as training_services
from training.models import DataValueReport, Job, ModelVersion

pytestmark = pytest.mark.django_db

QUERIES = {
    "headphones": ["hp-1", "hp-2", "hp-4", "lt-3", "sh-3", "kt-2"],
    "laptop": ["lt-1", "lt-2", "lt-3", "hp-2", "tv-2", "kt-4"],
    "coffee": ["kt-1", "kt-3", "kt-4", "kt-2", "sh-3", "hp-4"],
    "running shoes": ["sh-1", "sh-2", "sh-3", "hp-3", "kt-2", "lt-3"],
}


def planted_history(store, n_lists: int = 240, seed: int = 11) -> None:
    """Search-log rows: a purchase of the list's cheapest product (the useful source: it says
    what shoppers want) and clicks at random (the useless source), wherever items were shown."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    shoppers = [ShopperFactory(external_id=f"value-shopper-{i}") for i in range(10)]
    prices = {ext: float(p.price) for ext, p in store.products.items()}
    events = []
    for n in range(n_lists):
        query = rng.choice(list(QUERIES))
        shown = QUERIES[query][:]
        rng.shuffle(shown)
        moment = start + timedelta(hours=n * 2)
        request_id = f"req-value-{n}"
        shopper = rng.choice(shoppers)
        SearchLog.objects.create(
            query=query,
            normalised_query=query,
            result_count=len(shown),
            latency_ms=5,
            request_id=request_id,
            shopper=shopper,
            shown_products=shown,
            timestamp=moment,
            strategy="default-search",
        )
        cheapest = min(shown, key=prices.get)
        planted = [(ext, "click") for ext in shown if rng.random() < 0.3]
        if rng.random() < 0.9:
            planted.append((cheapest, "purchase"))
        for ext, kind in planted:
            events.append(
                Event(
                    event_id=f"{request_id}-{ext}-{kind}",
                    shopper=shopper,
                    product=store.products[ext],
                    type=kind,
                    request_id=request_id,
                    query=query,
                    position=shown.index(ext) + 1,
                    timestamp=moment + timedelta(seconds=30),
                )
            )
    Event.objects.bulk_create(events)


def test_data_value_ranks_the_useful_source_first_and_the_random_clicks_near_zero(
    serving_store, operator_user
):
    planted_history(serving_store)
    versions_before = ModelVersion.objects.count()
    job = training_services.job_launch(
        kind="data_value",
        user=operator_user,
        params={"task": "ranker", "epochs": 30, "bootstrap": 1000},
    )
    finished = training_services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.result_version is None and ModelVersion.objects.count() == versions_before

    report = DataValueReport.objects.get(job=finished)
    assert report.task == "ranker" and report.metric == "NDCG@10"
    assert report.held_out_units >= 20
    rows = {r["source"]: r for r in report.ablation}
    measured = sorted(
        (r for r in report.ablation if not r.get("skipped")), key=lambda r: -r["change"]
    )
    assert measured[0]["source"] == "purchases" and rows["purchases"]["verdict"] == "useful"
    assert rows["purchases"]["low"] > 0.05
    clicks = rows["clicks"]
    assert clicks["low"] <= 0 <= clicks["high"] and clicks["verdict"] == "no measurable value"
    assert abs(clicks["change"]) < 0.05
    # sources with no rows are listed, not measured
    assert rows["add_to_cart"]["skipped"] and rows["flagged"]["skipped"]
    # the learning curve: five nested sizes, a fit and a projection with its interval
    sizes = [p["size"] for p in report.curve["points"]]
    assert len(sizes) == 5 and sizes == sorted(sizes) and sizes[-1] == report.split["train"]
    low, high = report.curve["doubling_interval"]
    assert low <= report.curve["doubling_gain"] <= high
    assert any("Purchases carry most of the value" in line for line in report.summary)
    assert finished.metrics["report"] == report.pk


def test_cf_data_value_finds_the_taste_in_purchases_and_none_in_random_clicks(operator_user):
    """Six taste groups: each shopper buys products of their group (useful) and clicks products
    drawn from the whole catalogue (useless); a few shoppers are flagged as bots."""
    from catalog.models import Shopper
    from tests.factories.catalog import CategoryFactory, ProductFactory

    rng = random.Random(5)
    category = CategoryFactory()
    groups = [
        [ProductFactory(category=category, external_id=f"g{g}-{j}") for j in range(12)]
        for g in range(6)
    ]
    catalogue = [p for group in groups for p in group]
    start = datetime(2026, 8, 1, tzinfo=UTC)
    events = []
    for s in range(150):
        shopper = ShopperFactory(external_id=f"cf-value-{s}", exclude_from_training=s < 6)
        planted = [(p, "purchase") for p in rng.sample(groups[s % 6], 8)]
        planted += [(p, "click") for p in rng.sample(catalogue, 5)]
        rng.shuffle(planted)
        for minute, (product, kind) in enumerate(planted):
            events.append(
                Event(
                    event_id=f"cf-{s}-{minute}",
                    shopper=shopper,
                    product=product,
                    type=kind,
                    timestamp=start + timedelta(hours=s, minutes=minute),
                )
            )
    Event.objects.bulk_create(events)
    assert Shopper.objects.filter(exclude_from_training=True).count() == 6
    job = training_services.job_launch(
        kind="data_value", user=operator_user, params={"task": "cf", "bootstrap": 1000}
    )
    finished = training_services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    report = DataValueReport.objects.get(job=finished)
    assert report.unit == "shoppers" and report.held_out_units >= 100
    rows = {r["source"]: r for r in report.ablation}
    measured = sorted(
        (r for r in report.ablation if not r.get("skipped")), key=lambda r: -r["change"]
    )
    assert measured[0]["source"] == "purchases" and rows["purchases"]["verdict"] == "useful"
    clicks = rows["clicks"]
    assert clicks["verdict"] == "no measurable value" and abs(clicks["change"]) < 0.05
    assert rows["views"]["skipped"] and not rows["flagged"].get("skipped")
    assert 0 < rows["flagged"]["rows"] < 6 * 13  # the bots' training-part events
    assert len(report.curve["points"]) == 5
