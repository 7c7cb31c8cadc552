"""Issue 13 §4: job and model-version pages show metrics as tables and charts (never raw JSON),
compare metrics only, fill the key metric after an evaluation, compare any two versions, and
never delete the active version of a task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests import factories
from training import selectors
from training.models import Job, ModelVersion, Task

pytestmark = pytest.mark.django_db
CHART_NOTE = "The chart appears once the job reports progress."


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def _evaluation(version, active, **candidate):
    """What the evaluate job writes into a version's metrics (training.runners.evaluate)."""
    return {
        "source": "held-out queries (test split)",
        "k": 10,
        "candidate": {**candidate, "queries": 40.0},
        "baseline": {"ndcg@10": 0.30, "recall@10": 0.50, "mrr": 0.25, "queries": 40.0},
        "baseline_version": active.pk if active else None,
        "version": version.pk,
        "active_version": active.pk if active else None,
        "seed": 42,
    }


def test_job_page_shows_metrics_and_parameters_as_tables_and_the_chart_note_only_while_running(
    operator_client,
):
    now = timezone.now()
    done = factories.JobFactory(
        kind="finetune_retriever",
        status=Job.Status.SUCCEEDED,
        params={"batch_size": 64, "mode": "lora", "seed": 42},
        metrics={"ndcg@10": 0.4123, "embed": {"products": 120, "products_per_s": 88.5}},
        timings={"train_s": 12.5, "total_s": 20.25, "rows": 300},
        started_at=now - timedelta(seconds=20),
        finished_at=now,
    )
    html = operator_client.get(
        reverse("admin:training_job_change", args=[done.pk])
    ).content.decode()
    assert '<table class="aisle-values">' in html
    assert "<th>ndcg@10</th><td>0.4123</td>" in html
    assert "<th>embed.products_per_s</th><td>88.5000</td>" in html
    assert (
        "<th>Batch size</th><td>64</td>" in html and "<th>Training mode</th><td>lora</td>" in html
    )
    assert "<th>total_s</th><td>20.2500</td>" in html
    assert '"ndcg@10"' not in html and "{&quot;" not in html  # no raw JSON
    assert CHART_NOTE not in html  # it has ended: no chart will ever appear
    assert "Fine-tune the retriever" in html

    listing = operator_client.get(
        reverse("admin:training_job_changelist"), {"kind": "finetune_retriever"}
    ).content.decode()
    assert 'title="Embed the catalog"' in listing or ">Embed the catalog</a>" in listing
    assert f'href="/admin/training/job/{done.pk}/change/' in listing

    running = factories.JobFactory(status=Job.Status.RUNNING, started_at=now)
    html = operator_client.get(
        reverse("admin:training_job_change", args=[running.pk])
    ).content.decode()
    assert CHART_NOTE in html


def test_metrics_vs_the_active_version_compares_metrics_only():
    active = factories.ModelVersionFactory(
        task=Task.RETRIEVER, is_active=True, metrics={"ndcg@10": 0.28, "train_steps": 10}
    )
    version = factories.ModelVersionFactory(task=Task.RETRIEVER)
    version.metrics = {
        "ndcg@10": 0.35,
        "recall@10": 0.6,
        "train_loss": 0.8,
        "train_steps": 31,
        "train_pairs_per_s": 120.5,
        "seed": 7,
        "embed": {"products": 120, "products_per_s": 80.0, "index_s": 0.4},
        "active_same_split": {"ndcg@10": 0.31, "recall@10": 0.55},
        "active_version": active.pk,
        "evaluation": _evaluation(
            version, active, **{"ndcg@10": 0.36, "recall@10": 0.61, "mrr": 0.3}
        ),
    }
    version.save()
    _, rows = selectors.compare_with_active(version)
    table = {r.name: (r.value, r.active_value) for r in rows}
    assert table == {
        "ndcg@10": (0.35, 0.31),  # the active one measured by this job on its split
        "recall@10": (0.6, 0.55),
        "train_loss": (0.8, None),
        "evaluation · ndcg@10": (0.36, 0.30),  # the evaluate job's baseline is the active one
        "evaluation · recall@10": (0.61, 0.50),
        "evaluation · mrr": (0.3, 0.25),
    }
    assert selectors.is_metric("evaluation.candidate.ndcg@10", 0.4)
    assert selectors.is_metric("per_label.buy.f1", 0.4) and selectors.is_metric("macro_f1", 1)
    for name in ("evaluation.k", "seed", "evaluation.seed", "test_examples", "chosen.alpha"):
        assert not selectors.is_metric(name, 10)
    assert not selectors.is_metric("sane", True)


def test_version_page_shows_the_comparison_as_a_table_and_a_chart(operator_client):
    active = factories.ModelVersionFactory(
        task=Task.INTENT, is_active=True, metrics={"macro_f1": 0.5}
    )
    version = factories.ModelVersionFactory(
        task=Task.INTENT,
        metrics={"macro_f1": 0.7, "accuracy": 0.8, "test_examples": 90, "labels": ["a", "b"]},
        hyperparameters={"epochs": 3, "learning_rate": 5e-5},
    )
    html = operator_client.get(
        reverse("admin:training_modelversion_change", args=[version.pk])
    ).content.decode()
    assert (
        f"active #{active.pk}" in html
        and "<th>macro_f1</th><td>0.7000</td><td>0.5000</td><td>+0.2000</td>" in html
    )
    assert 'aria-label="metrics compared"' in html  # the bars
    assert "test_examples</th><td>90" not in html
    assert "<th>epochs</th><td>3</td>" in html and '"epochs"' not in html


def test_the_key_metric_is_filled_in_after_an_evaluation(operator_client):
    retriever = factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True, metrics={})
    job = factories.JobFactory(kind="train_cf", params={"k": 20}, status=Job.Status.SUCCEEDED)
    cf = factories.ModelVersionFactory(
        task=Task.CF,
        job=job,
        metrics={"ndcg@10": 0.2, "ndcg@20": 0.25, "recall@20": 0.3, "users": 50},
    )
    url = reverse("admin:training_modelversion_changelist")
    html = operator_client.get(url).content.decode()
    assert "ndcg@20 0.2500" in html  # the CF job's own cut-off, not the first one found
    assert selectors.key_metric(retriever) is None

    retriever.metrics = {"evaluation": _evaluation(retriever, None, **{"ndcg@10": 0.4321})}
    retriever.save()
    cf.metrics = {**cf.metrics, "evaluation": {"candidate": {"ndcg@20": 0.27}, "k": 20, "seed": 42}}
    cf.save()
    html = operator_client.get(url).content.decode()
    assert "ndcg@10 0.4321 (evaluated)" in html and "ndcg@20 0.2700 (evaluated)" in html
    sentiment = factories.ModelVersionFactory(task=Task.SENTIMENT, metrics={"macro_f1": 0.61})
    assert str(selectors.key_metric(sentiment)) == "macro_f1 0.6100"


def test_any_two_versions_side_by_side(operator_client):
    a = factories.ModelVersionFactory(
        task=Task.RANKER,
        name="linear",
        metrics={"ndcg@10": 0.4, "auc": 0.7},
        hyperparameters={"model": "linear", "epochs": 30},
    )
    b = factories.ModelVersionFactory(
        task=Task.RANKER,
        name="mlp",
        metrics={"ndcg@10": 0.45, "auc": 0.72},
        hyperparameters={"model": "mlp", "epochs": 30},
    )
    changelist = reverse("admin:training_modelversion_changelist")
    resp = operator_client.post(
        changelist, {"action": "compare_selected", "_selected_action": [a.pk, b.pk]}
    )
    compare = reverse("admin:training_modelversion_compare")
    assert resp.status_code == 302 and resp["Location"] == f"{compare}?a={a.pk}&b={b.pk}"
    html = operator_client.get(resp["Location"]).content.decode()
    assert "<th>ndcg@10</th><td>0.4000</td><td>0.4500</td><td>-0.0500</td>" in html
    assert "<th><strong>model</strong></th><td>linear</td><td>mlp</td>" in html
    assert "<th>epochs</th><td>30</td><td>30</td>" in html
    assert (
        f'<option value="{a.pk}" selected>' in html and f'<option value="{b.pk}" selected>' in html
    )
    # a job of one scored the other on its own split: those figures stand for the other
    b.metrics = {**b.metrics, "active_same_split": {"ndcg@10": 0.41}, "active_version": a.pk}
    b.save()
    html = operator_client.get(resp["Location"]).content.decode()
    assert "<th>ndcg@10</th><td>0.4100</td><td>0.4500</td><td>-0.0400</td>" in html

    one = operator_client.post(
        changelist, {"action": "compare_selected", "_selected_action": [a.pk]}, follow=True
    )
    assert "Select exactly two versions to compare." in one.content.decode()
    assert "Compare two versions" in operator_client.get(changelist).content.decode()


def test_the_active_version_of_a_task_cannot_be_deleted(operator_client):
    active = factories.ModelVersionFactory(task=Task.CF, is_active=True, name="serving cf")
    old = factories.ModelVersionFactory(task=Task.CF, name="old cf")
    with pytest.raises(ValidationError, match="is the active cf version"):
        active.delete()
    with pytest.raises(ValidationError, match="promote one, or roll back"):
        ModelVersion.objects.filter(task=Task.CF).delete()
    assert ModelVersion.objects.count() == 2

    page = operator_client.get(reverse("admin:training_modelversion_change", args=[active.pk]))
    assert "deletelink" not in page.content.decode()
    resp = operator_client.post(
        reverse("admin:training_modelversion_delete", args=[active.pk]),
        {"post": "yes"},
        follow=True,
    )
    assert "is the active cf version" in resp.content.decode()
    assert ModelVersion.objects.filter(pk=active.pk).exists()

    changelist = reverse("admin:training_modelversion_changelist")
    resp = operator_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [active.pk, old.pk], "post": "yes"},
        follow=True,
    )
    assert "is the active cf version" in resp.content.decode()
    assert list(ModelVersion.objects.values_list("pk", flat=True)) == [active.pk]
