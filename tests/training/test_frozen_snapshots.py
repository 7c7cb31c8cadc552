"""Issue 15 §4: each training job freezes the exact ids of its split; ``evaluate`` scores any
version on a stored snapshot, so two versions are compared on identical rows even after new
events arrive; forgetting a shopper removes their rows from stored snapshots (counted); the
version page shows the snapshot and offers it for download."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Event, Shopper
from catalog.services.privacy import shopper_forget
from tests.training.runners.test_cf import write_block_log
from training import services, snapshots
from training.ml.snapshots import SnapshotError, drop_ids, load_snapshot, save_snapshot
from training.models import Job

QUIET = {"stdout": io.StringIO(), "stderr": io.StringIO()}


# --------------------------------------------------------------------------- plain module


def test_a_snapshot_round_trips_and_its_checksum_catches_a_changed_file(tmp_path):
    folder = tmp_path / "snapshot"
    saved = save_snapshot(
        folder,
        unit="query",
        parts={"train": ["red shoes", "tv"], "valid": ["lamp"], "test": []},
        rows={"events": [5, 3, 9], "searches": [1]},
        meta={"seed": 7},
    )
    loaded = load_snapshot(folder, expected_checksum=saved.checksum)
    assert loaded.unit == "query" and loaded.meta["seed"] == 7
    assert loaded.parts["train"].tolist() == ["red shoes", "tv"] and loaded.counts()["test"] == 0
    assert loaded.rows["events"].tolist() == [5, 3, 9]
    with pytest.raises(SnapshotError, match="not the one recorded"):
        load_snapshot(folder, expected_checksum="0" * 64)
    np.save(folder / "rows_events.npy", np.asarray([5, 3], dtype=np.int64))
    with pytest.raises(SnapshotError, match="do not match"):
        load_snapshot(folder)


def test_dropping_ids_rewrites_the_parts_and_counts_what_went(tmp_path):
    folder = tmp_path / "snapshot"
    save_snapshot(folder, unit="event", parts={"train": [1, 2, 3], "valid": [4], "test": [5, 6]})
    _, counted = drop_ids(folder, {"events": [2, 6, 99]}, write=False)
    assert counted == 2 and load_snapshot(folder).counts() == {"train": 3, "valid": 1, "test": 2}
    frozen, dropped = drop_ids(folder, {"events": [2, 6, 99]})
    assert dropped == 2 and frozen.meta["dropped"] == 2
    again = load_snapshot(folder, expected_checksum=frozen.checksum)
    assert again.parts["train"].tolist() == [1, 3] and again.parts["test"].tolist() == [5]


# --------------------------------------------------------------------------- jobs


@pytest.fixture
def block_log(tmp_path, settings, db):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    folder = write_block_log(tmp_path)
    call_command("import_catalog", str(folder / "products.csv"), "--no-progress", **QUIET)
    call_command("import_events", str(folder / "events.csv"), "--no-progress", **QUIET)
    return folder


def _later_events(folder, shoppers=range(160, 200)):
    """New shoppers' clicks after the log's end: they change any split re-derived live."""
    path = folder / "later.csv"
    start = datetime(2025, 2, 1, tzinfo=UTC)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "shopper", "type", "product", "timestamp"])
        for s in shoppers:
            for minute in range(6):
                when = start + timedelta(hours=s, minutes=5 * minute)
                product = f"g{s % 8}-{(s + minute) % 12}"
                writer.writerow([f"later{s}-{minute}", f"shopper-{s}", "click", product, when])
    call_command("import_events", str(path), "--no-progress", **QUIET)


def _run(user, kind, **params) -> Job:
    job = services.job_run(job_id=services.job_launch(kind=kind, params=params, user=user).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def _cf(user) -> Job:
    return _run(user, "train_cf", models="item_item", search="fixed")


def test_two_versions_evaluated_on_one_stored_snapshot_use_identical_rows(block_log, operator_user):
    first = _cf(operator_user).result_version
    record = snapshots.frozen_record(first)
    assert record["unit"] == "event" and record["checksum"] and record["bytes"] > 0
    frozen = snapshots.snapshot_load(first)
    stored = set(frozen.event_ids().tolist())
    assert sum(record["counts"].values()) == len(stored) == Event.objects.count()

    _later_events(block_log)  # the live tables move on
    second = _cf(operator_user).result_version
    assert sum(snapshots.frozen_record(second)["counts"].values()) > len(stored)

    on_first = [
        _run(operator_user, "evaluate", version=v.pk, snapshot=first.pk, device="cpu").metrics
        for v in (first, second)
    ]
    a, b = (m["snapshot"] for m in on_first)
    assert a["version"] == b["version"] == first.pk and a["checksum"] == frozen.checksum
    assert a["test_rows"] == b["test_rows"] == record["counts"]["test"] > 0
    assert a["rows_digest"] == b["rows_digest"]
    # The second version's own snapshot (the default) holds other rows: the param mattered.
    own = _run(operator_user, "evaluate", version=second.pk, device="cpu").metrics["snapshot"]
    assert own["version"] == second.pk and own["rows_digest"] != a["rows_digest"]


def test_a_snapshot_of_another_task_or_a_missing_one_is_refused(block_log, operator_user):
    version = _cf(operator_user).result_version
    (snapshots.snapshot_path(version) / "manifest.json").unlink()
    job = services.job_run(
        job_id=services.job_launch(
            kind="evaluate", params={"version": version.pk, "device": "cpu"}, user=operator_user
        ).pk
    )
    assert job.status == Job.Status.FAILED and "no stored snapshot" in job.error


def test_forgetting_a_shopper_removes_their_rows_from_stored_snapshots(
    block_log, operator_user, django_capture_on_commit_callbacks
):
    version = _cf(operator_user).result_version
    before = snapshots.frozen_record(version)
    mine = set(Event.objects.filter(shopper__external_id="shopper-3").values_list("pk", flat=True))
    assert len(mine) == 10

    with django_capture_on_commit_callbacks(execute=True):
        counts = shopper_forget(external_id="shopper-3", mode="delete")
    assert counts["snapshot_rows"] == 10

    version.refresh_from_db()
    after = snapshots.frozen_record(version)
    assert after["dropped"] == 10 and after["forgotten_shoppers"] == 1
    assert sum(after["counts"].values()) == sum(before["counts"].values()) - 10
    assert after["checksum"] != before["checksum"]
    frozen = snapshots.snapshot_load(version)  # the files match the new record
    assert not mine & set(frozen.event_ids().tolist())
    # A shopper none of whose rows a snapshot holds changes nothing.
    Shopper.objects.create(external_id="shopper-3b")
    with django_capture_on_commit_callbacks(execute=True):
        assert "snapshot_rows" not in shopper_forget(external_id="shopper-3b", mode="delete")


def test_the_version_page_shows_the_snapshot_and_downloads_it(block_log, operator_user, client):
    version = _cf(operator_user).result_version
    client.force_login(operator_user)
    page = client.get(reverse("admin:training_modelversion_change", args=[version.pk]))
    text = page.content.decode()
    link = reverse("admin:training_modelversion_snapshot", args=[version.pk])
    assert page.status_code == 200 and "stored snapshot" in text.lower() and link in text
    counts = snapshots.frozen_record(version)["counts"]
    assert f"train {counts['train']} / valid {counts['valid']} / test {counts['test']}" in text
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert {f"snapshot-v{version.pk}/{n}" for n in ("manifest.json", "test.npy")} <= set(names)
