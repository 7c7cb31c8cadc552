"""Issue 13 §4: the job launch page speaks the operator's language — kinds by their names with
what they do and an estimated duration here, parameters with labels and help, versions picked
from a list, no kind preselected."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from training import estimates
from training.jobs import get_job_kind, job_kinds
from training.models import Job, Task

pytestmark = pytest.mark.django_db
URL = "admin:training_job_launch"


def _built_in_kinds():
    """The shipped kinds (other tests register kinds of their own in the same registry)."""
    return [k for k in job_kinds().values() if str(k.runner).startswith("training.runners.")]


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def test_every_kind_is_shown_by_its_name_with_what_it_does_and_none_is_preselected(
    operator_client,
):
    html = operator_client.get(reverse(URL)).content.decode()
    text = unescape(html)  # a summary's apostrophes and quotes are escaped in the page
    for kind in _built_in_kinds():
        assert kind.title and kind.summary, f"{kind.name} needs a title and a summary"
        assert kind.title in text and kind.summary[:30] in text, kind.name
    assert "Embed the catalog" in html and "Fine-tune the retriever" in html
    # nothing is chosen for the operator: no parameter form, no launch button yet
    assert '<form method="post"' not in html and 'name="batch_size"' not in html
    assert 'class="selected"' not in html
    assert html.count("no previous run") == len(job_kinds())


def test_every_parameter_has_a_label_written_out_and_help_in_words(operator_client):
    for kind in _built_in_kinds():
        for param in kind.params:
            assert param.label, f"{kind.name}.{param.name} needs a label"
            assert param.help, f"{kind.name}.{param.name} needs help"
    html = operator_client.get(reverse(URL) + "?kind=finetune_retriever").content.decode()
    assert '<label for="id_batch_size" class="required">' not in html
    assert re.search(r'<label for="id_batch_size">Batch size</label>', html)
    assert "Pairs per step (in-batch negatives). Default: 64. Between 2 and 4096." in html
    assert ">Add hard negatives</label>" in html and "Default: off." in html
    assert 'value="Launch: Fine-tune the retriever"' in html


def test_version_parameters_are_chosen_from_the_existing_versions_of_their_task(
    operator_client, django_capture_on_commit_callbacks
):
    retriever = factories.ModelVersionFactory(
        task=Task.RETRIEVER, name="base minilm", is_active=True
    )
    tuned = factories.ModelVersionFactory(task=Task.RETRIEVER, name="tuned on clicks")
    cf = factories.ModelVersionFactory(task=Task.CF, name="ease 2026")

    html = operator_client.get(reverse(URL) + "?kind=finetune_retriever").content.decode()
    select = re.search(r'<select name="base_version".*?</select>', html, re.S).group(0)
    assert f'<option value="{retriever.pk}">#{retriever.pk} base minilm — active</option>' in select
    assert f">#{tuned.pk} tuned on clicks</option>" in select
    assert "ease 2026" not in select  # a CF version is no retriever
    assert '<option value="" selected>the active version</option>' in select
    assert '<input type="number" name="base_version"' not in html

    html = operator_client.get(reverse(URL) + "?kind=evaluate").content.decode()
    select = re.search(r'<select name="version".*?</select>', html, re.S).group(0)
    assert "ease 2026" in select and "tuned on clicks" in select and "<optgroup" in select
    assert "— choose a version —" in select

    with django_capture_on_commit_callbacks():
        resp = operator_client.post(reverse(URL), {"kind": "evaluate", "version": str(cf.pk)})
    assert resp.status_code == 302
    assert Job.objects.get().params["version"] == cf.pk
    bad = operator_client.post(reverse(URL), {"kind": "evaluate", "version": "999999"})
    assert "Select a valid choice" in bad.content.decode() and Job.objects.count() == 1


def test_the_estimate_scales_the_last_run_by_the_rows_then_and_now(operator_client):
    kind = get_job_kind("embed_catalog")
    assert kind.scales_with == "products"
    for _ in range(6):
        factories.ProductFactory()
    assert estimates.kind_estimate(kind).text == "no previous run"
    end = timezone.now()
    factories.JobFactory(
        status=Job.Status.FAILED, started_at=end - timedelta(hours=5), finished_at=end
    )
    old = factories.JobFactory(
        status=Job.Status.SUCCEEDED,
        started_at=end - timedelta(days=2, seconds=100),
        finished_at=end - timedelta(days=2),
        timings={"rows": 2, "total_s": 100},
    )
    last = factories.JobFactory(
        status=Job.Status.SUCCEEDED,
        started_at=end - timedelta(seconds=200),
        finished_at=end,
        timings={"rows": 3, "total_s": 200},
    )
    estimate = estimates.kind_estimate(kind)
    # the last succeeded run (not the failed one, not the older one): 200 s on 3 products, 6 now
    assert estimate.job_id == last.pk != old.pk and estimate.seconds == pytest.approx(400)
    assert (
        estimate.text == f"about 7 min (last run #{last.pk} took 3 min on 3 active products; 6 now)"
    )
    html = operator_client.get(reverse(URL)).content.decode()
    assert estimate.text in html

    last.timings = {"total_s": 200}  # a run from before rows were recorded: taken as it was
    last.save()
    assert (
        estimates.kind_estimate(kind).text
        == f"about 3 min (last run #{last.pk}; its active products were not counted)"
    )


def test_a_starting_job_records_the_rows_its_kind_scales_with():
    for _ in range(4):
        factories.ProductFactory()
    factories.ProductFactory(active=False)
    timings: dict = {}
    estimates.record_rows(get_job_kind("embed_catalog"), timings)
    assert timings == {"rows": 4}


def test_a_big_table_is_counted_by_the_planners_estimate_not_a_scan(monkeypatch):
    from django.db import connection

    for _ in range(5):
        factories.ProductFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'catalog_product'")
        reltuples = cursor.fetchone()[0]
    assert estimates.row_count("products") == int(reltuples) == 5
