"""The report's fix actions: merging duplicates (events repointed, duplicate deactivated, an
audit row, nothing deleted) and exclude-from-training flags, which every training job's
dataset readers honour under ``exclude_flagged``."""

from __future__ import annotations

import pytest

from catalog.models import Event, Product, Shopper
from catalog.services.privacy import shopper_export
from catalog.services.quality import products_merge, quality_fix_apply, quality_report_run
from platform_core.models import AuditLog
from training import datasets
from training import services as training_services
from training.activation import VersionPolicy
from training.jobs import Param, get_job_kind, register_job_kind, validate_params
from training.models import Job, ModelVersion, Task

pytestmark = pytest.mark.django_db


def test_merging_duplicates_repoints_events_deactivates_and_audits(planted_store, admin_user):
    a, b = planted_store.duplicates
    shopper = planted_store.shoppers[4]
    Event.objects.create(
        event_id="dup-b-1",
        shopper=shopper,
        product_id=b,
        type="click",
        timestamp="2025-03-02T10:00Z",
    )
    Event.objects.create(
        event_id="dup-b-2",
        shopper=shopper,
        product_id=b,
        type="purchase",
        timestamp="2025-03-02T11:00Z",
    )
    Event.objects.create(
        event_id="dup-a-1",
        shopper=shopper,
        product_id=a,
        type="view",
        timestamp="2025-03-02T12:00Z",
    )
    before = Event.objects.count()
    report = quality_report_run()
    message = quality_fix_apply(report=report, check="duplicate_titles", user=admin_user)

    kept, merged = Product.objects.get(pk=b), Product.objects.get(pk=a)  # b had more events
    assert "Merged 1 duplicate(s) in 1 group(s)" in message
    assert kept.active and not merged.active and merged.merged_into_id == b
    assert Event.objects.count() == before  # nothing deleted
    assert not Event.objects.filter(product_id=a).exists()
    assert Event.objects.filter(product_id=b).count() == 3
    audit = AuditLog.objects.get(action="catalog.product.merge_duplicates")
    assert audit.details["kept"] == b and audit.details["events_moved"] == 1
    assert audit.actor == admin_user
    # The next report no longer finds them.
    assert quality_report_run().counts["duplicate_titles"] == 0


def test_merge_refuses_a_group_of_one(planted_store):
    a, _ = planted_store.duplicates
    with pytest.raises(Exception, match="at least one duplicate"):
        products_merge(keep_id=a, duplicate_ids=[a])


def _cf_shoppers() -> set[int]:
    split, _ = datasets.cf_interactions(protocol="per_user_random")
    return {row[0] for part in split.parts().values() for row in part}


def _cf_products() -> set[int]:
    split, _ = datasets.cf_interactions(protocol="per_user_random")
    return {row[1] for part in split.parts().values() for row in part}


def test_flags_remove_rows_from_training_datasets_only_when_asked(planted_store, admin_user):
    s = planted_store
    report = quality_report_run()
    assert s.bot in _cf_shoppers() and s.inactive in _cf_products()
    quality_fix_apply(report=report, check="bot_shoppers", user=admin_user)
    quality_fix_apply(report=report, check="events_inactive_products", user=admin_user)
    assert Shopper.objects.get(pk=s.bot).exclude_from_training
    assert AuditLog.objects.filter(action="catalog.shopper.exclude_from_training").exists()
    # A decision about a person: their data export says so.
    assert shopper_export(external_id="crawler-9")["shopper"]["exclude_from_training"] is True

    assert s.bot in _cf_shoppers()  # flags change nothing unless a job asks
    with datasets.flagged_rows_excluded():
        assert s.bot not in _cf_shoppers()
        assert s.inactive not in _cf_products()
        with datasets.flagged_rows_excluded(False):
            assert s.bot in _cf_shoppers()
        # A product's flag removes its events, whoever made them.
        product = Event.objects.get(pk=s.unrated_reviews[0]).product_id
        assert product in _cf_products()
        Product.objects.filter(pk=product).update(exclude_from_training=True)
        assert product not in _cf_products()


def _flag_reading_runner(ctx):
    version = ctx.create_version(
        task=Task.RANKER, name="reads flags", base="x", dataset_snapshot={"rows": 1}
    )
    ctx.finish(version, {"excluding": datasets.excluding_flagged()})


register_job_kind(
    "test_reads_flags",
    queue="cpu",
    runner=_flag_reading_runner,
    help="test: reports whether the readers exclude flagged rows",
    params=[Param("n", int, 1, "unused")],
    versions=VersionPolicy(metric="ndcg@10"),
    replace=True,
)


@pytest.mark.parametrize("kind", ["train_cf", "train_ranker", "finetune_retriever"])
def test_every_training_kind_takes_exclude_flagged(kind):
    assert validate_params(get_job_kind(kind), {"exclude_flagged": "true"})["exclude_flagged"]


def test_a_job_with_exclude_flagged_reads_under_the_scope_and_records_it(db, monkeypatch):
    monkeypatch.setattr(training_services, "_enqueue", lambda **kwargs: None)
    for flag in (True, False):
        job = training_services.job_launch(
            kind="test_reads_flags", params={"exclude_flagged": flag}
        )
        job = training_services.job_run(job_id=job.pk)
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert job.metrics["excluding"] is flag
        version = ModelVersion.objects.get(job=job)
        assert version.dataset_snapshot.get("exclude_flagged", False) is flag
        assert version.dataset_snapshot["rows"] == 1
    assert not datasets.excluding_flagged()
