"""Admin pages of the training app render, act through the services and keep query counts flat."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Event, EventType
from platform_core.models import AuditLog
from tests import factories
from training import services
from training.models import Job, JobNotice, ModelVersion, QueryLabel, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def _history(points=12):
    return [
        {
            "t": i * 2.0,
            "stage": "train",
            "fraction": i / points,
            "step": i,
            "loss": 2.0 / (i + 1),
            "throughput": 100 + i,
        }
        for i in range(points)
    ]


def test_job_page_shows_live_progress_chart_and_log(operator_client, operator_user):
    job = factories.JobFactory(
        kind="finetune_retriever",
        status=Job.Status.RUNNING,
        progress=0.42,
        step=21,
        total_steps=50,
        epoch=1,
        loss=0.3456,
        throughput=87.5,
        eta_seconds=30,
        heartbeat_at=timezone.now(),
        device="CPU (2 threads, float32)",
        peak_memory_mb=812,
        metrics_history=_history(),
        log="07:00:01 train…\n07:00:03 step 21",
        created_by=operator_user,
        started_at=timezone.now() - timedelta(seconds=40),
    )
    resp = operator_client.get(reverse("admin:training_job_change", args=[job.pk]))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "<svg" in html and "loss over time" in html and "throughput over time" in html
    assert "42%" in html and "21 / 50" in html and "0.3456" in html and "812 MiB" in html
    assert "CPU (2 threads, float32)" in html and "step 21" in html
    assert "Cancel job" in html and 'data-active="1"' in html
    # refreshed by a static script (no inline script under the CSP), told the URL by a data attribute
    assert (
        "aisle/job-live" in html
        and f'data-job-progress-url="{reverse("admin:training_job_progress", args=[job.pk])}"'
        in html
    )
    assert "<script" not in html.split("job-live")[1]  # no script inside the page body

    partial = operator_client.get(reverse("admin:training_job_progress", args=[job.pk]))
    assert partial.status_code == 200 and partial.content.decode().lstrip().startswith(
        '<div id="job-live"'
    )

    cancel = operator_client.post(reverse("admin:training_job_cancel", args=[job.pk]))
    assert cancel.status_code == 302
    job.refresh_from_db()
    assert job.cancel_requested


def test_queued_job_shows_its_queue_position_and_a_failed_one_offers_retry(operator_client):
    factories.JobFactory(queue="gpu")
    queued = factories.JobFactory(queue="gpu")
    html = operator_client.get(
        reverse("admin:training_job_change", args=[queued.pk])
    ).content.decode()
    assert re.search(r"queue position</th><td>2 on", html)

    failed = factories.JobFactory(
        kind="train_cf",
        queue="cpu",
        params={
            "factors": 8,
            "iterations": 2,
            "regularization": 0.01,
            "alpha": 1.0,
            "top_k": 5,
            "k": 20,
            "days": None,
            "name": "",
            "seed": 1,
        },
        status=Job.Status.FAILED,
        error="Traceback…\nBoom",
    )
    html = operator_client.get(
        reverse("admin:training_job_change", args=[failed.pk])
    ).content.decode()
    assert "Retry as a new attempt" in html and "Boom" in html and 'data-active="0"' in html
    resp = operator_client.post(reverse("admin:training_job_retry", args=[failed.pk]))
    retry = Job.objects.get(retry_of=failed)
    assert (
        resp.status_code == 302
        and resp["Location"].endswith(f"/{retry.pk}/change/")
        and retry.attempt == 2
    )


def test_job_changelist_has_progress_bars_and_flat_query_count(
    operator_client, django_assert_max_num_queries
):
    factories.JobFactory(status=Job.Status.RUNNING, progress=0.5)
    url = reverse("admin:training_job_changelist")
    operator_client.get(url)  # warm caches (content types, sessions)
    # 16: the page itself, the schedule filter's choices and the JobNoticeMiddleware lookup that
    # every admin page makes
    with django_assert_max_num_queries(16) as few:
        assert operator_client.get(url).status_code == 200
    user = factories.UserFactory(username="launcher")
    version = factories.ModelVersionFactory()
    for i in range(15):
        factories.JobFactory(
            created_by=user, result_version=version, progress=i / 15, status=Job.Status.SUCCEEDED
        )
    with django_assert_max_num_queries(len(few)) as many:
        resp = operator_client.get(url)
    assert resp.status_code == 200 and resp.content.decode().count('class="aisle-progress"') == 16
    assert len(many) == len(few)
    html = operator_client.get(url + "?status__exact=running").content.decode()
    assert html.count('class="aisle-progress"') == 1


def test_version_changelist_query_count_and_change_page_comparison(
    operator_client, django_assert_max_num_queries
):
    factories.ModelVersionFactory(
        task=Task.INTENT, is_active=True, metrics={"accuracy": 0.61, "macro_f1": 0.55}
    )
    url = reverse("admin:training_modelversion_changelist")
    operator_client.get(url)
    # 15: the page itself plus the JobNoticeMiddleware lookup that every admin page makes
    with django_assert_max_num_queries(15) as few:
        operator_client.get(url)
    user = factories.UserFactory(username="trainer")
    job = factories.JobFactory(status=Job.Status.SUCCEEDED)
    for i in range(12):
        factories.ModelVersionFactory(
            task=Task.INTENT, created_by=user, job=job, metrics={"macro_f1": i / 12}
        )
    with django_assert_max_num_queries(len(few)) as many:
        resp = operator_client.get(url + "?task__exact=intent")
    assert resp.status_code == 200 and "macro_f1 0.5500" in resp.content.decode()
    assert len(many) == len(few)

    candidate = factories.ModelVersionFactory(
        task=Task.INTENT, metrics={"accuracy": 0.7, "macro_f1": 0.65}
    )
    html = operator_client.get(
        reverse("admin:training_modelversion_change", args=[candidate.pk])
    ).content.decode()
    assert (
        "metrics vs the active version" in html.lower() or "Metrics vs the active version" in html
    )
    assert (
        "0.7000" in html
        and "0.6100" in html
        and "+0.0900" in html
        and "Promote (make active)" in html
    )


def test_admin_promote_and_rollback_are_audited(operator_client, operator_user):
    first = factories.ModelVersionFactory(task=Task.CF)
    second = factories.ModelVersionFactory(task=Task.CF)
    operator_client.post(reverse("admin:training_modelversion_promote", args=[first.pk]))
    resp = operator_client.post(
        reverse("admin:training_modelversion_changelist"),
        {"action": "promote_selected", "_selected_action": [second.pk]},
    )
    assert resp.status_code == 302
    assert ModelVersion.objects.get(task=Task.CF, is_active=True) == second
    html = operator_client.get(
        reverse("admin:training_modelversion_change", args=[second.pk])
    ).content.decode()
    assert f"Roll back to #{first.pk}" in html
    operator_client.post(reverse("admin:training_modelversion_rollback", args=["cf"]))
    assert ModelVersion.objects.get(task=Task.CF, is_active=True) == first
    assert AuditLog.objects.filter(actor=operator_user, action="model.rollback").count() == 1
    # A retriever without vectors: the error is shown, nothing changes.
    retriever = factories.ModelVersionFactory(task=Task.RETRIEVER)
    factories.ProductFactory()
    resp = operator_client.post(
        reverse("admin:training_modelversion_promote", args=[retriever.pk]), follow=True
    )
    assert "has no vectors for 1 active product" in resp.content.decode()
    assert not ModelVersion.objects.filter(task=Task.RETRIEVER, is_active=True).exists()


def test_analyst_sees_but_cannot_promote_or_launch(client, analyst_user):
    client.force_login(analyst_user)
    version = factories.ModelVersionFactory(task=Task.CF)
    assert (
        client.get(reverse("admin:training_modelversion_change", args=[version.pk])).status_code
        == 200
    )
    assert (
        client.post(reverse("admin:training_modelversion_promote", args=[version.pk])).status_code
        == 403
    )
    assert client.get(reverse("admin:training_job_launch")).status_code == 403
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_launch_form_lists_kinds_validates_and_queues(
    operator_client, operator_user, django_capture_on_commit_callbacks
):
    url = reverse("admin:training_job_launch")
    html = operator_client.get(url + "?kind=finetune_retriever").content.decode()
    for kind in (
        "embed_catalog",
        "finetune_retriever",
        "finetune_classifier",
        "train_cf",
        "evaluate",
    ):
        assert kind in html
    assert 'name="mode"' in html and 'name="hard_negatives"' in html and "Pairs per step" in html

    bad = operator_client.post(url, {"kind": "train_cf", "factors": "0"})
    assert (
        bad.status_code == 200
        and "Ensure this value is greater than or equal to 1" in bad.content.decode()
    )
    assert not Job.objects.exists()
    bad = operator_client.post(
        url, {"kind": "finetune_classifier", "task": "sentiment", "labels": "weak"}
    )
    assert "ratings" in bad.content.decode() and not Job.objects.exists()

    with django_capture_on_commit_callbacks() as queued:
        resp = operator_client.post(url, {"kind": "train_cf", "factors": "16", "iterations": "3"})
    job = Job.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"/{job.pk}/change/")
    assert job.params["factors"] == 16 and job.params["iterations"] == 3 and job.params["k"] == 20
    assert job.created_by == operator_user and len(queued) == 1
    assert (
        "Launch a job"
        in operator_client.get(reverse("admin:training_job_changelist")).content.decode()
    )
    assert operator_client.get(reverse("admin:training_job_add"))["Location"] == url


def test_labelling_page_lists_unlabelled_queries_with_sessions_and_saves_in_bulk(
    operator_client, operator_user
):
    store = factories.build_training_store(per_category=2, shoppers=3, sessions=4, search_log=False)
    searched = sorted({e.query for e in Event.objects.filter(type=EventType.SEARCH)})
    QueryLabel.objects.create(query=searched[0], label="buy")
    url = reverse("admin:training_querytolabel_changelist")

    resp = operator_client.get(url)
    html = resp.content.decode()
    assert resp.status_code == 200 and "Label queries" in html
    assert f"<strong>{searched[0]}</strong>" not in html  # already labelled
    for query in searched[1:]:
        assert f"<strong>{query}</strong>" in html
    assert "click" in html and "session" in html  # the peek at what the session did next
    assert any(f"“{p.title}”" in html for items in store.products.values() for p in items)

    rows = re.findall(r'name="query_(\d+)" value="([^"]+)"', html)
    form = {f"query_{i}": q for i, q in rows}
    form[f"label_{rows[0][0]}"] = "browse"
    form[f"label_{rows[1][0]}"] = "review"
    resp = operator_client.post(url, form)
    assert resp.status_code == 302
    assert dict(QueryLabel.objects.filter(user=operator_user).values_list("query", "label")) == {
        rows[0][1]: "browse",
        rows[1][1]: "review",
    }
    html = operator_client.get(url).content.decode()
    assert f"<strong>{rows[0][1]}</strong>" not in html
    bad = operator_client.post(url, {"query_0": "x", "label_0": "teleport"}, follow=True)
    assert "Unknown intent label" in bad.content.decode()


def test_failed_job_notice_is_shown_once_on_the_next_admin_page(client, operator_user, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "training.middleware.JobNoticeMiddleware"]
    client.force_login(operator_user)
    job = factories.JobFactory(created_by=operator_user, status=Job.Status.FAILED, error="Boom")
    JobNotice.objects.create(
        user=operator_user, job=job, message=f"Job #{job.pk} (embed_catalog) failed: Boom"
    )
    html = client.get(reverse("admin:index")).content.decode()
    assert f"Job #{job.pk} (embed_catalog) failed: Boom" in html
    assert "failed: Boom" not in client.get(reverse("admin:index")).content.decode()
    assert services.notices_deliver(user=operator_user) == []
