"""``run_job data_value task=retriever``: on a store whose queries are made-up words for a
category, pairs mined from purchases (the shopper buys in the word's category: the useful
source) rank first, pairs mined from clicks (products drawn from the whole catalogue: the noise)
read as no measurable value; the pool is encoded, never the catalogue; no version is created."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Event, SearchLog
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory, ShopperFactory
from tests.factories.training import ModelVersionFactory
from training import services
from training.models import DataValueReport, Job, ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]

#: a made-up word per category: the base encoder cannot know it, the purchases teach it
CODES = {"Tents": "zorbel", "Kettles": "quandle", "Headphones": "mivvix", "Lamps": "trebbo"}
KINDS = {
    "Tents": "dome tent",
    "Kettles": "electric kettle",
    "Headphones": "over-ear headphones",
    "Lamps": "desk lamp",
}
MODIFIERS = [
    "black",
    "green",
    "silver",
    "large",
    "small",
    "cheap",
    "new",
    "best",
    "sale",
    "pro",
    "mini",
    "light",
    "classic",
    "premium",
    "compact",
    "red",
    "blue",
    "white",
    "deluxe",
    "basic",
]


def _planted_store(seed: int = 3) -> None:
    rng = random.Random(seed)
    brand = BrandFactory(name="Nordtek")
    catalogue: dict[str, list] = {}
    for name, kind in KINDS.items():
        category = CategoryFactory(external_id=f"c-{name}", name=name)
        catalogue[name] = [
            ProductFactory(
                external_id=f"{name[:3].lower()}-{i}",
                title=f"Nordtek {kind} {i}",
                description=f"A {kind}.",
                category=category,
                brand=brand,
            )
            for i in range(6)
        ]
    everything = [p for products in catalogue.values() for p in products]
    shoppers = [ShopperFactory(external_id=f"rv-{i}") for i in range(6)]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    events, n = [], 0
    for name, code in CODES.items():
        for modifier in MODIFIERS:
            query = f"{code} {modifier}"
            for _ in range(2):
                n += 1
                moment = start + timedelta(hours=n)
                request_id = f"req-rv-{n}"
                shopper = rng.choice(shoppers)
                SearchLog.objects.create(
                    query=query,
                    normalised_query=query,
                    result_count=6,
                    latency_ms=5,
                    request_id=request_id,
                    shopper=shopper,
                    timestamp=moment,
                    strategy="default-search",
                )
                planted = [
                    (rng.choice(catalogue[name]), "purchase"),
                    (rng.choice(everything), "click"),
                ]
                for product, kind in planted:
                    events.append(
                        Event(
                            event_id=f"{request_id}-{product.pk}-{kind}",
                            shopper=shopper,
                            product=product,
                            type=kind,
                            request_id=request_id,
                            query=query,
                            timestamp=moment + timedelta(seconds=30),
                        )
                    )
    Event.objects.bulk_create(events)


def test_retriever_data_value_ranks_purchase_pairs_first_and_random_clicks_near_zero():
    ModelVersionFactory(name="base", is_active=True)
    _planted_store()
    embed = services.job_run(
        job_id=services.job_launch(kind="embed_catalog", params={"device": "cpu"}, user=None).pk
    )
    assert embed.status == Job.Status.SUCCEEDED, embed.error
    versions_before = ModelVersion.objects.count()

    job = services.job_launch(
        kind="data_value",
        user=None,
        params={
            "task": "retriever",
            "sources": "click_pairs,purchase_pairs,labels,synthetic",
            "synthetic_products": 0,
            "max_steps": 10,
            "batch_size": 16,
            "learning_rate": 2e-3,
            "max_seq_len": 24,
            "curve": False,
            "bootstrap": 1000,
        },
    )
    finished = services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.result_version is None and ModelVersion.objects.count() == versions_before

    report = DataValueReport.objects.get(job=finished)
    assert report.task == "retriever" and report.metric == "NDCG@10" and report.unit == "queries"
    assert report.held_out_units >= 10
    rows = {r["source"]: r for r in report.ablation}
    measured = sorted(
        (r for r in report.ablation if not r.get("skipped")), key=lambda r: -r["change"]
    )
    assert measured[0]["source"] == "purchase_pairs", report.ablation
    assert rows["purchase_pairs"]["verdict"] == "useful"
    clicks = rows["click_pairs"]
    assert clicks["low"] <= 0 <= clicks["high"] and clicks["verdict"] == "no measurable value"
    # sources with no rows are listed with the reason, not measured
    assert "zero rows" in rows["labels"]["skipped"] and "zero rows" in rows["synthetic"]["skipped"]
    assert set(rows) == {"click_pairs", "purchase_pairs", "labels", "synthetic"}
    # the pool is what each run encodes (24 products here), and the report says so
    assert report.split["pool_products"] <= 24
    assert any("No run re-embeds the catalogue" in note for note in report.notes)
    assert report.curve is None
    assert any("carry most of the value" in line for line in report.summary)
