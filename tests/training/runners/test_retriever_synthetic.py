"""``finetune_retriever`` on a store with a catalogue and no logs: ``pairs=synthetic`` writes
queries from the products, picks hard negatives from the current retriever, fine-tunes and
records the pairs' kind; ``pairs=mined`` on the same store says what to do instead."""

from __future__ import annotations

import pytest

from catalog.models import Event, SearchLog
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory
from tests.factories.training import ModelVersionFactory, build_training_store
from training import selectors, services
from training.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]

KINDS = {
    "Headphones": ["over-ear headphones", "earbuds"],
    "Kettles": ["electric kettle", "gooseneck kettle"],
    "Tents": ["dome tent", "tunnel tent"],
}
COLOURS = ["black", "silver", "green"]


def _catalogue_without_logs() -> None:
    brands = [BrandFactory(name=name) for name in ("Nordtek", "Casavia", "Ridgeway")]
    n = 0
    for category_name, kinds in KINDS.items():
        category = CategoryFactory(external_id=f"c-{category_name}", name=category_name)
        for i in range(8):
            brand, kind, colour = brands[i % 3], kinds[i % 2], COLOURS[(i // 2) % 3]
            n += 1
            ProductFactory(
                external_id=f"p-{n}",
                title=f"{brand.name} Model {n} {kind} — {colour}",
                description=f"A {kind} in {colour}.",
                category=category,
                brand=brand,
                attributes={"type": kind, "color": colour, "capacity": f"{i + 1} l"},
            )


def _run(params):
    job = services.job_launch(kind="finetune_retriever", params=params, user=None)
    return services.job_run(job_id=job.pk)


def test_synthetic_pairs_fine_tune_a_store_with_no_logs():
    ModelVersionFactory(name="base", is_active=True)
    _catalogue_without_logs()
    assert not Event.objects.exists() and not SearchLog.objects.exists()
    embed = services.job_run(
        job_id=services.job_launch(kind="embed_catalog", params={"device": "cpu"}, user=None).pk
    )
    assert embed.status == Job.Status.SUCCEEDED, embed.error

    common = {"epochs": 1, "batch_size": 16, "device": "cpu", "min_pairs": 10, "mode": "lora"}
    mined = _run(common)
    assert mined.status == Job.Status.FAILED
    assert "pairs=synthetic" in mined.error

    job = _run({**common, "pairs": "synthetic", "hard_negatives": True, "name": "synthetic"})
    assert job.status == Job.Status.SUCCEEDED, job.error
    version = job.result_version
    snapshot = version.dataset_snapshot
    assert snapshot["kind"] == "synthetic"
    assert snapshot["pair_kinds"]["synthetic"] > 10 and "mined" not in snapshot["pair_kinds"]
    assert set(snapshot["rules"]) == {
        "title_span",
        "attribute_span",
        "category_attribute",
        "brand_type",
    }
    assert version.hyperparameters["pairs"] == "synthetic"
    assert selectors.missing_vector_count(version) == 0
    assert version.metrics["held_out"].startswith("synthetic test queries")
    assert version.metrics["ndcg@10"] >= 0
    log = job.log
    assert "with a hard negative from the current retriever" in log
    assert " 0 with a hard negative" not in log


def test_mixed_pairs_record_both_kinds():
    ModelVersionFactory(name="base", is_active=True)
    build_training_store(per_category=3, shoppers=8, sessions=4)
    job = _run(
        {
            "epochs": 1,
            "batch_size": 16,
            "device": "cpu",
            "min_pairs": 10,
            "mode": "lora",
            "pairs": "mixed",
        }
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    snapshot = job.result_version.dataset_snapshot
    assert snapshot["pair_kinds"]["mined"] > 0 and snapshot["pair_kinds"]["synthetic"] > 0
    assert snapshot["synthetic"]["kind"] == "synthetic" and "split" in snapshot
    assert job.result_version.metrics["held_out"] == "mined test queries"
