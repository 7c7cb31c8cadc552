"""The data quality report on a store with planted problems: each check finds exactly what was
planted; the job stores the report (near-duplicates from the active retriever's vectors); a
file import queues the job after its commit."""

from __future__ import annotations

import pytest

from catalog.models import DataQualityReport, ImportRun
from catalog.services.quality import quality_report_run
from training import services as training_services
from training.models import Job

pytestmark = pytest.mark.django_db


def _found(report: DataQualityReport, name: str) -> dict:
    check = report.check_result(name)
    assert check is not None, name
    return check


def test_each_check_finds_exactly_what_was_planted(planted_store):
    report = quality_report_run()
    s = planted_store

    dup = _found(report, "duplicate_titles")
    assert dup["ids"] == [sorted(s.duplicates)] and dup["count"] == 1
    assert [p["product"] for p in dup["examples"][0]["products"]] == sorted(s.duplicates)
    assert _found(report, "near_duplicates")["skipped"]  # no retriever vectors yet
    assert _found(report, "short_title")["ids"] == [s.short_title]
    assert _found(report, "short_description")["ids"] == [s.short_description]
    outliers = _found(report, "price_outliers")
    assert outliers["ids"] == [s.outlier]
    assert outliers["examples"][0]["price"] == 2500 and outliers["examples"][0]["z"] > 3.5
    events = _found(report, "events_inactive_products")
    assert sorted(events["ids"]) == sorted(s.bad_events) and events["count"] == 4
    bots = _found(report, "bot_shoppers")
    assert bots["ids"] == [s.bot]
    assert bots["examples"][0]["peak_events_per_hour"] == 120
    assert bots["examples"][0]["external_id"] == "crawler-9"
    assert _found(report, "orphan_categories")["ids"] == [s.orphan]
    assert sorted(_found(report, "reviews_without_ratings")["ids"]) == sorted(s.unrated_reviews)
    assert report.counts == {
        "duplicate_titles": 1,
        "short_title": 1,
        "short_description": 1,
        "price_outliers": 1,
        "events_inactive_products": 4,
        "bot_shoppers": 1,
        "orphan_categories": 1,
        "reviews_without_ratings": 2,
    }
    assert report.issues_found == 12 and report.totals["events"] > 0


def test_the_job_finds_near_duplicates_in_the_active_retrievers_vectors(
    planted_vectors, monkeypatch
):
    monkeypatch.setattr(training_services, "_enqueue", lambda **kwargs: None)
    job = training_services.job_launch(kind="data_quality", params={"near_duplicate_cosine": 0.97})
    assert job.queue == "cpu"
    job = training_services.job_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    report = DataQualityReport.objects.get(job_id=job.pk)
    near = _found(report, "near_duplicates")
    # The knives are identical vectors too, but the exact-title check already reports them.
    assert near["ids"] == [sorted(planted_vectors.near_duplicates)] and near["count"] == 1
    assert near["examples"][0]["cosine"] >= 0.97
    assert job.metrics["report"] == report.pk and job.metrics["count_near_duplicates"] == 1
    assert job.progress == 1.0


def test_a_file_import_queues_a_data_quality_job_after_its_commit(
    db, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from catalog.services.imports import catalog_import_file

    monkeypatch.setattr(training_services, "_enqueue", lambda **kwargs: None)
    path = tmp_path / "categories.csv"
    path.write_text("external_id,name,parent\nhome,Home,\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = catalog_import_file(kind="categories", source=path)
    assert report.ok and not Job.objects.filter(kind="data_quality").exists()  # not inline
    for callback in callbacks:
        callback()
    job = Job.objects.get(kind="data_quality")
    assert job.params["trigger"] == "import"
    assert job.params["import_run"] == ImportRun.objects.get().pk
    # A second import while that job waits in the queue adds no second job.
    more = tmp_path / "more.csv"
    more.write_text("external_id,name,parent\ngarden,Garden,home\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        assert catalog_import_file(kind="categories", source=more).created == 1
    assert Job.objects.filter(kind="data_quality").count() == 1


def test_run_job_data_quality_inline_stores_a_report(planted_store):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("run_job", "data_quality", "--inline", "-p", "outlier_z=3.5", stdout=out)
    report = DataQualityReport.objects.get()
    assert report.trigger == DataQualityReport.Trigger.ON_DEMAND and report.job_id
    assert report.counts["bot_shoppers"] == 1 and report.counts["price_outliers"] == 1
