"""The operations course's labs done as a learner would, on a small demo store (300 products),
through the lab's own pages and grants (the Django test client as the learner): the data-value
lab with the real ``data_value`` job on CPU, and the zero-result lab on the searches the demo
store plants, with the check's live replay. Doing nothing, or the wrong thing, fails each check."""

from __future__ import annotations

import json
import re
import time
from html import escape, unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from courses import services
from courses.models import Lab, LabAttempt
from training import services as training_services
from training.models import Job

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(lab_store):
    """The lab store and the curriculum (``tests/courses/lab_store.py``: built once a session,
    copied in)."""
    return lab_store


@pytest.fixture
def demo_embedded(lab_store_embedded):
    """The same, as `make run` leaves it: the packaged encoder, embedded and active."""
    return lab_store_embedded


def _failed(result) -> list[str]:
    return [label for label, ok, _detail in result.items if not ok]


def test_data_value_lab_reaches_its_bar(demo, client, learner_user):
    """Step 1: launch data_value with task cf (defaults otherwise); step 2: read the report in
    the admin; step 3: name the most valuable source. A wrong answer fails the check."""
    lab = Lab.objects.get(slug="data-value-most-valuable-source")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    assert _failed(services.lab_check(user=learner_user, lab=lab)) == [
        "A data_value job (task cf) you launched succeeded",
        "Its data-value report exists",
        "You named the most valuable source",
    ]

    job = training_services.job_launch(kind="data_value", params={"task": "cf"}, user=learner_user)
    started = time.monotonic()
    job = training_services.job_run(job_id=job.pk)
    print(f"\ndata_value task=cf: {job.status} in {time.monotonic() - started:.1f} s")
    assert job.status == Job.Status.SUCCEEDED, job.error

    # the learner reads the report list: the lab's grants open it
    page = client.get(reverse("admin:training_datavaluereport_changelist"))
    assert page.status_code == 200
    top = re.search(r'<td class="field-top_source">([^<(]+) \(', page.content.decode())
    assert top, "the report list shows the most valuable source"
    source = unescape(top.group(1)).strip()

    wrong = "clicks" if source != "clicks" else "views"
    response = client.post(reverse("academy:lab_check", args=[lab.slug]), {"answer": wrong})
    assert response.status_code == 302
    result = services.lab_check(user=learner_user, lab=lab)  # the answer is kept
    assert _failed(result) == ["You named the most valuable source"], result.items

    client.post(reverse("academy:lab_check", args=[lab.slug]), {"answer": source.title()})
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).get()
    print(attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items


def _zero_table_rows(html: str) -> list[tuple[str, str]]:
    """(query, its "Add a synonym" link) of each row of the zero-result table, in page order."""
    table = html.split('id="zero-results"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr class=\"row[12]\">(.*?)</tr>", table, flags=re.S):
        query = unescape(re.search(r'<th scope="row">(.*?)</th>', row).group(1))
        link = re.search(r'<a href="([^"]+)" class="button aisle-fix">Add a synonym</a>', row)
        rows.append((query, unescape(link.group(1)) if link else ""))
    return rows


def _add_synonym(client, link: str, word: str, capture) -> None:
    """Press "Add a synonym", complete the prefilled terms with ``word`` and save."""
    prefilled = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    form = client.get(link)
    assert form.status_code == 200
    with capture(execute=True):  # the save's on-commit hook invalidates the serving caches
        response = client.post(
            link,
            {
                "kind": "equivalent",
                "sources": "",
                "terms": prefilled["terms"] + word,
                "active": "on",
                "note": prefilled.get("note", ""),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_zero_result_lab_reaches_its_bar(
    demo_embedded, client, learner_user, django_capture_on_commit_callbacks
):
    """Step 1: the worst query on the problem-queries page (the demo store plants it); step 3:
    Add a synonym with the catalogue's word. Fixing another query, or nothing, fails; the
    check's live replay finds products once the right synonym is saved."""
    from recommend.analytics import rollups

    rollups.refresh(full=True)  # what beat does every minute
    planted = json.loads(Path(demo_embedded["zero_results"]).read_text())["queries"]
    assert len(planted) == 3

    lab = Lab.objects.get(slug="fix-worst-zero-result-query")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    page = client.get(reverse("admin:analytics_search_problems"))
    assert page.status_code == 200  # the lab's grants open the page
    rows = _zero_table_rows(page.content.decode())
    assert [q for q, _ in rows] == [p["query"] for p in planted]  # worst first
    assert all(link for _, link in rows)  # the learner may add synonyms

    missing = [
        f"You fixed “{planted[0]['query']}” with a synonym set (or a pinned result)",
        "Replayed live now, it finds matching products",
    ]
    result = services.lab_check(user=learner_user, lab=lab)
    print("\nnothing done:", result.items)
    assert _failed(result) == missing

    # the wrong thing: the second query fixed, the worst left as it was
    _add_synonym(client, rows[1][1], planted[1]["fix"], django_capture_on_commit_callbacks)
    result = services.lab_check(user=learner_user, lab=lab)
    print("second query fixed:", result.items)
    assert _failed(result) == missing

    _add_synonym(client, rows[0][1], planted[0]["fix"], django_capture_on_commit_callbacks)
    response = client.post(reverse("academy:lab_check", args=[lab.slug]))
    assert response.status_code == 302
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).get()
    print("worst query fixed:", attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items


def test_sentiment_lab_reaches_its_bar(demo, client, learner_user):
    """Step 1: score_reviews with its defaults (the rating stands in: no sentiment model); step
    2: the spike on Most negative products this week; step 4: name the product. The planted
    product (the demo store's hidden truth) is the one to name; another product fails."""
    planted = json.loads(Path(demo["sentiment_spike"]).read_text())
    lab = Lab.objects.get(slug="find-the-sentiment-spike")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    assert _failed(services.lab_check(user=learner_user, lab=lab)) == [
        "A product's negative reviews spiked in the last 7 days",
        "You named the product",
    ]

    job = training_services.job_launch(kind="score_reviews", params={}, user=learner_user)
    started = time.monotonic()
    job = training_services.job_run(job_id=job.pk)
    print(f"\nscore_reviews: {job.status} in {time.monotonic() - started:.1f} s")
    assert job.status == Job.Status.SUCCEEDED, job.error

    from catalog.models import Product

    title = Product.objects.get(external_id=planted["product"]).title
    page = client.get(reverse("admin:insights_sentiment_worst"))
    assert page.status_code == 200  # the lab's grants open the page
    assert escape(title) in page.content.decode()  # listed among the spikes, by name

    client.post(reverse("academy:lab_check", args=[lab.slug]), {"answer": "p-no-such-product"})
    result = services.lab_check(user=learner_user, lab=lab)
    assert _failed(result) == ["You named the product"], result.items

    client.post(reverse("academy:lab_check", args=[lab.slug]), {"answer": title})
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).get()
    print(attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items
