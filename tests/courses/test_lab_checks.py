"""Each lab check end to end against real platform records, created through the platform's own
services where they exist (catalog import, training job launch and query labelling)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ImportRun, Product
from courses import labs, selectors, services
from courses.lab_files import ROWS
from courses.models import LabAttempt, LabResult
from tests.courses.conftest import build_course

pytestmark = pytest.mark.django_db

CATEGORIES_CSV = (
    b"external_id,name,parent\n"
    b"apparel,Apparel,\nrunning-shoes,Running shoes,apparel\nrain-jackets,Rain jackets,apparel\n"
    b"kitchen,Kitchen,\ncoffee-grinders,Coffee grinders,kitchen\nchef-knives,Chef knives,kitchen\n"
)


def fix_lab_csv(content: bytes, known_categories: set[str]) -> bytes:
    """What a careful learner does: repair the price, the category id and the missing title."""
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    by_name = {}
    for row in rows:
        if row["category"] in known_categories:
            by_name[row["description"].split(" by ")[0].split(" ", 1)[1]] = row["category"]
    for row in rows:
        price = row["price"].replace("€", "").replace(" EUR", "").replace(",", ".")
        if price.count(".") > 1:
            price = price.rsplit(".", 1)[0]
        row["price"] = price
        if row["category"] not in known_categories:
            row["category"] = by_name[row["description"].split(" by ")[0].split(" ", 1)[1]]
        if not row["title"]:
            row["title"] = re.search(r"product name: (.*)\)", row["description"]).group(1)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def categories(db):
    from catalog.services.imports import catalog_import_file

    report = catalog_import_file(
        kind="categories", source=CATEGORIES_CSV, fmt="csv", filename="categories.csv"
    )
    assert report.ok, report.summary()
    return {"running-shoes", "rain-jackets", "coffee-grinders", "chef-knives", "apparel", "kitchen"}


# --- catalog_import_fixed ---------------------------------------------------------------------------


def test_import_lab_end_to_end(learner_user, categories):
    from catalog.services.imports import catalog_import_file

    sc = build_course(slug="import-course", check_name="catalog_import_fixed")
    # An import before the lab starts does not count.
    lab_file = labs.import_lab_file_for(learner_user)
    catalog_import_file(
        kind="products",
        source=lab_file.content,
        fmt="csv",
        filename=lab_file.filename,
        user=learner_user,
    )
    services.lab_start(user=learner_user, lab=sc.lab)

    leaves = {"running-shoes", "rain-jackets", "coffee-grinders", "chef-knives"}
    rows = list(csv.DictReader(io.StringIO(lab_file.content.decode())))
    assert len(rows) == ROWS and len(lab_file.broken) == 20
    assert {
        r["category"] for r in rows if r["external_id"] not in lab_file.broken
    } == leaves  # the real leaves

    first = catalog_import_file(
        kind="products",
        source=lab_file.content,
        fmt="csv",
        filename=lab_file.filename,
        user=learner_user,
        origin="admin",
    )
    assert first.status == ImportRun.Status.REJECTED and first.rejected == 20
    assert {e.field for e in first.errors} == {
        "price",
        "category",
        "title",
    }  # the three kinds of mistakes
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert not result.passed
    assert [ok for _, ok, _ in result.items] == [True, False, False]
    assert "20 of 200 rows rejected" in result.items[0][2]

    # Importing the good rows only is not enough: the 20 broken products are still missing.
    catalog_import_file(
        kind="products",
        source=lab_file.content,
        fmt="csv",
        filename=lab_file.filename,
        user=learner_user,
        skip_invalid=True,
    )
    partial = services.lab_check(user=learner_user, lab=sc.lab)
    assert (
        not partial.passed
        and "20 of your 200 products are not in the catalogue" in partial.items[2][2]
    )

    fixed = fix_lab_csv(lab_file.content, categories)
    final = catalog_import_file(
        kind="products", source=fixed, fmt="csv", filename="fixed.csv", user=learner_user
    )
    assert final.status == ImportRun.Status.SUCCEEDED and final.rejected == 0
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert result.passed, result.items
    assert (
        Product.objects.filter(external_id__in=lab_file.external_ids, active=False).count() == ROWS
    )
    attempt = LabAttempt.objects.get(user=learner_user, lab=sc.lab)
    assert attempt.status == LabAttempt.Status.PASSED and attempt.ended_at is not None
    assert LabResult.objects.filter(attempt=attempt).count() == 3


def test_import_lab_files_are_per_learner(learner_user, operator_user, categories):
    mine, theirs = labs.import_lab_file_for(learner_user), labs.import_lab_file_for(operator_user)
    assert not set(mine.external_ids) & set(theirs.external_ids)
    assert labs.import_lab_file_for(learner_user).content == mine.content


def test_someone_elses_import_does_not_count(learner_user, operator_user, categories):
    from catalog.services.imports import catalog_import_file

    sc = build_course(slug="import-course-2", check_name="catalog_import_fixed")
    services.lab_start(user=learner_user, lab=sc.lab)
    lab_file = labs.import_lab_file_for(learner_user)
    catalog_import_file(kind="products", source=lab_file.content, fmt="csv", user=operator_user)
    catalog_import_file(
        kind="products",
        source=fix_lab_csv(lab_file.content, categories),
        fmt="csv",
        user=operator_user,
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert not result.passed and not result.items[0][1] and not result.items[1][1]
    assert result.items[2][1]  # the products exist — but the learner did not import them


# --- intent_classifier_f1 ---------------------------------------------------------------------------


def _finish_job(job, *, task: str, metrics: dict):
    """What the worker's runner records when a job succeeds: a version with metrics."""
    from training.models import ModelVersion

    version = ModelVersion.objects.create(
        task=task,
        name=f"{task} from job {job.pk}",
        job=job,
        metrics=metrics,
        created_by=job.created_by,
    )
    job.status, job.result_version, job.finished_at = "succeeded", version, timezone.now()
    job.save(update_fields=["status", "result_version", "finished_at"])
    return version


def test_intent_lab_end_to_end(learner_user, operator_user):
    from training import services as training_services

    sc = build_course(slug="intent-course", check_name="intent_classifier_f1")
    training_services.query_labels_save(
        labels={f"old query {n}": "browse" for n in range(70)}, user=learner_user
    )
    services.lab_start(user=learner_user, lab=sc.lab)
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert (
        not result.passed and "0 labelled" in result.items[0][2]
    )  # labels from before the lab do not count

    labels = {f"query {n}": ("browse", "buy", "review")[n % 3] for n in range(59)}
    training_services.query_labels_save(labels=labels, user=learner_user)
    training_services.query_labels_save(labels={"someone else's": "buy"}, user=operator_user)
    job = training_services.job_launch(
        kind="finetune_classifier", params={"task": "intent"}, user=learner_user
    )
    _finish_job(
        job, task="intent", metrics={"accuracy": 0.8, "macro_f1": 0.74, "test_examples": 45}
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert [ok for _, ok, _ in result.items] == [False, True, False]
    assert "59 labelled" in result.items[0][2] and "0.740" in result.items[2][2]

    training_services.query_labels_save(
        labels={"query 59": "buy", "query 60": "review"}, user=learner_user
    )
    sentiment = training_services.job_launch(
        kind="finetune_classifier", params={"task": "sentiment"}, user=learner_user
    )
    _finish_job(
        sentiment, task="sentiment", metrics={"macro_f1": 0.95}
    )  # the wrong task does not count
    assert not services.lab_check(user=learner_user, lab=sc.lab).passed

    better = training_services.job_launch(
        kind="finetune_classifier", params={"task": "intent"}, user=learner_user
    )
    _finish_job(
        better, task="intent", metrics={"accuracy": 0.86, "macro_f1": 0.83, "test_examples": 45}
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert result.passed, result.items
    assert "0.830" in result.items[2][2]


# --- retriever_beats_active -------------------------------------------------------------------------


def test_retriever_lab_end_to_end(learner_user):
    from training import services as training_services
    from training.models import ModelVersion

    ModelVersion.objects.create(
        task="retriever", name="base MiniLM", is_active=True, metrics={"ndcg@10": 0.35}
    )
    sc = build_course(slug="retriever-course", check_name="retriever_beats_active")
    services.lab_start(user=learner_user, lab=sc.lab)
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert not result.passed and "No job of this kind" in result.items[0][2]

    job = training_services.job_launch(
        kind="finetune_retriever", params={"mode": "lora"}, user=learner_user
    )
    queued = services.lab_check(user=learner_user, lab=sc.lab)
    assert f"#{job.pk} queued" in queued.items[0][2]
    _finish_job(
        job, task="retriever", metrics={"ndcg@10": 0.371, "active_same_split": {"ndcg@10": 0.38}}
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert [ok for _, ok, _ in result.items] == [True, False]
    assert (
        "0.3710 vs active 0.3800" in result.items[1][2]
    )  # compared on the same split, not the stored 0.35

    again = training_services.job_launch(
        kind="finetune_retriever", params={"epochs": 2}, user=learner_user
    )
    _finish_job(
        again, task="retriever", metrics={"ndcg@10": 0.412, "active_same_split": {"ndcg@10": 0.38}}
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert result.passed and "0.4120 vs active 0.3800" in result.items[1][2]


def test_retriever_lab_prefers_the_judged_queries_when_the_job_had_them(learner_user):
    from training import services as training_services

    sc = build_course(slug="retriever-judged", check_name="retriever_beats_active")
    services.lab_start(user=learner_user, lab=sc.lab)
    job = training_services.job_launch(kind="finetune_retriever", params={}, user=learner_user)
    metrics = {
        "ndcg@10": 0.52,
        "active_same_split": {"ndcg@10": 0.54},  # one clicked product per held-out query
        "judged": {"candidate": {"ndcg@10": 0.61}, "baseline": {"ndcg@10": 0.58}},
    }
    _finish_job(job, task="retriever", metrics=metrics)
    result = services.lab_check(user=learner_user, lab=sc.lab)
    assert result.passed and "0.6100 vs active 0.5800 on the judged queries" in result.items[1][2]

    job.result_version.metrics["judged"]["candidate"]["ndcg@10"] = 0.57
    job.result_version.save(update_fields=["metrics"])
    started = job.created_at - timedelta(seconds=1)
    again = labs.run_check("retriever_beats_active", user=learner_user, started_at=started)
    assert not again.passed and "0.5700 vs active 0.5800 on the judged queries" in again.items[1][2]


def test_queue_position_of_the_learners_jobs(client, learner_user, operator_user):
    from training import services as training_services

    sc = build_course(slug="queue-course", check_name="retriever_beats_active")
    services.lab_start(user=learner_user, lab=sc.lab)
    training_services.job_launch(kind="finetune_retriever", params={}, user=operator_user)
    training_services.job_launch(kind="finetune_retriever", params={}, user=operator_user)
    mine = training_services.job_launch(kind="finetune_retriever", params={}, user=learner_user)
    jobs = selectors.my_jobs_in_queue(user=learner_user)
    assert [(j.job_id, j.position, j.ahead) for j in jobs] == [(mine.pk, 3, 2)]

    client.force_login(learner_user)
    html = client.get(reverse("academy:lab_queue", args=[sc.lab.slug])).content.decode()
    assert f"Job #{mine.pk}" in html and "3rd" in html and "2 ahead" in html

    from training.models import Job

    Job.objects.exclude(pk=mine.pk).update(status="running")
    assert selectors.my_jobs_in_queue(user=learner_user)[0].position == 1
    Job.objects.filter(pk=mine.pk).update(status="running", progress=0.4)
    html = client.get(reverse("academy:lab_queue", args=[sc.lab.slug])).content.decode()
    assert "running" in html and "40%" in html


# --- experiment_shipped_winner ----------------------------------------------------------------------


def test_experiment_check_when_experiments_are_missing(learner_user, monkeypatch):
    monkeypatch.setattr(labs, "_model", lambda app_label, name: None)
    result = labs.run_check(
        "experiment_shipped_winner", user=learner_user, started_at=timezone.now()
    )
    assert not result.passed and "not available on this platform yet" in result.items[0][2]


def test_experiment_check_holds_each_requirement_of_the_lab(learner_user, operator_user):
    """A learner in the A/B lab (its permissions, not an operator) creates strategies and an
    experiment with the real services; traffic is recorded exposures. Someone else's experiment
    does not count; one variant without traffic fails; shipping against the verdict fails."""
    from django.contrib.auth import get_user_model

    from recommend.experiments import services as experiments
    from recommend.experiments.models import Exposure
    from recommend.models import Strategy
    from recommend.services import strategy_ensure_defaults, strategy_save

    strategy_ensure_defaults()
    sc = build_course(slug="experiment-course", check_name="experiment_shipped_winner")
    sc.lab.permissions = [
        "experiments.add_experiment",
        "experiments.change_experiment",
        "recommend.add_strategy",
    ]
    sc.lab.save()
    services.lab_start(user=learner_user, lab=sc.lab)
    learner = get_user_model().objects.get(pk=learner_user.pk)

    def experiment(name, by):
        arms = []
        for key in ("a", "b"):
            strategy = Strategy(name=f"{name}-{key}", surface="search")
            strategy_save(strategy=strategy, actor=by)
            arms.append(strategy)
        exp = experiments.experiment_create(
            name=name,
            surface="search",
            hypothesis="b wins",
            variants=[
                experiments.VariantSpec("control", arms[0], 50, True),
                experiments.VariantSpec("treatment", arms[1], 50),
            ],
            actor=by,
        )
        experiments.experiment_start(experiment=exp, actor=by)
        return exp

    def expose(exp, key, n):
        variant = exp.variants.get(key=key)
        for i in range(n):
            Exposure.objects.create(
                experiment=exp,
                variant=variant,
                unit_type="shopper",
                unit_id=f"{key}{i}",
                request_id=f"{exp.pk}-{key}-{i}",
                timestamp=timezone.now(),
            )

    theirs = experiment("theirs", operator_user)
    expose(theirs, "control", 3)
    expose(theirs, "treatment", 3)
    experiments.experiment_stop(experiment=theirs, actor=operator_user)
    assert not services.lab_check(user=learner, lab=sc.lab).passed  # someone else's

    mine = experiment("mine", learner)
    expose(mine, "control", 3)
    items = {label: ok for label, ok, _ in services.lab_check(user=learner, lab=sc.lab).items}
    assert (
        items["Two variants at 50/50"]
        and items["Each variant uses a strategy you created in the lab"]
    )
    assert not items["Both variants received simulated traffic"]  # the treatment got none
    expose(mine, "treatment", 3)
    experiments.experiment_ship(
        experiment=mine, actor=learner, variant=mine.variants.get(key="treatment")
    )
    result = services.lab_check(user=learner, lab=sc.lab)
    assert [label for label, ok, _ in result.items if not ok] == [
        "The shipped variant is the winner the results declared"
    ]


def test_unknown_and_crashing_checks_fail_cleanly(learner_user, monkeypatch):
    assert not labs.run_check("no_such_check", user=learner_user, started_at=timezone.now()).passed

    def boom(*, user, started_at):
        raise RuntimeError("bug")

    monkeypatch.setitem(labs._CHECKS, "boom", boom)
    result = labs.run_check("boom", user=learner_user, started_at=timezone.now())
    assert not result.passed and "RuntimeError" in result.items[0][2]
