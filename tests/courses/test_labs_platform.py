"""The operations course's reliability, efficiency and drafted-copy labs done as a learner
would, on a small demo store (300 products), through the lab's own pages and grants (the Django
test client as the learner), with the real job on CPU where the lab runs one: the dead letters
the lab plants recovered from Platform → Dead letters; the active retriever quantised by the
real ``quantize`` job and its child promoted; the real ``generate_copy`` job's drafts reviewed in
Catalog → Copy drafts beside the bad draft the lab plants. Doing nothing, or the wrong thing,
fails each check. (The copy lab in the browser: ``test_browser_labs_platform.py``.)"""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
from django.urls import reverse

from courses import services
from courses.models import Lab, LabAttempt
from platform_core.buffers import redis_client
from recommend.analytics.buffers import SERVED
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


@pytest.fixture
def empty_served_buffer():
    """The served buffer of the tests' Redis database, empty (other tests queue rows in it)."""
    client = redis_client()
    client.delete(SERVED.key, SERVED.dead_key)
    yield
    client.delete(SERVED.key, SERVED.dead_key)


def _failed(result) -> list[str]:
    return [label for label, ok, _detail in result.items if not ok]


def _run(job) -> Job:
    started = time.monotonic()
    job = training_services.job_run(job_id=job.pk)
    print(f"\n{job.kind} {job.params}: {job.status} in {time.monotonic() - started:.1f} s")
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


# --- reliability ------------------------------------------------------------------------------------


def _dead_letter_forms(html: str) -> list[tuple[str, str, str]]:
    """(request id, buffer, raw entry) of each dead letter the page offers to retry."""
    table = html.split('id="dead-letters"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
        cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        buffer = re.search(r'name="buffer" value="([^"]*)"', row).group(1)
        entry = re.search(r'name="entry" value="([^"]*)"', row).group(1)
        rows.append((unescape(cells[2]), unescape(buffer), unescape(entry)))
    return rows


def test_reliability_lab_recovers_the_dead_letters(demo, empty_served_buffer, client, learner_user):
    """Starting the lab plants three dead letters; the learner reads them on Platform → Dead
    letters and retries each; the flush (beat's, every 5 s) stores them. Doing nothing fails;
    retried but not flushed yet fails (the check says to wait); a discarded row is lost and
    fails; leaving the lab takes back what it planted."""
    from recommend.analytics.models import ServedRequest
    from recommend.analytics.services import served_flush

    lab = Lab.objects.get(slug="recover-the-dead-letters")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    page = client.get(reverse("admin:platform_core_deadletter_changelist"))
    assert page.status_code == 200  # the lab's grants open the page
    html = page.content.decode()
    assert "cannot execute INSERT in a read-only transaction" in html  # the error is shown
    letters = _dead_letter_forms(html)
    assert len(letters) == 3 and {b for _, b, _ in letters} == {"served"}
    assert _failed(services.lab_check(user=learner_user, lab=lab)) == [
        "None of the 3 rows waits in the served dead letters any more",
        "You retried them from the dead-letter page",
        "All 3 rows are stored in the served-request log, nothing lost",
    ]

    # the wrong thing: one discarded, two retried and flushed — the discarded one is lost
    act = reverse("admin:platform_core_deadletter_act")
    for n, (_rid, buffer, entry) in enumerate(letters):
        action = "discard" if n == 0 else "retry"
        assert client.post(act, {"action": action, "buffer": buffer, "entry": entry}).status_code
    served_flush()
    result = services.lab_check(user=learner_user, lab=lab)
    print("\none discarded:", result.items)
    assert _failed(result) == [
        "You retried them from the dead-letter page",
        "All 3 rows are stored in the served-request log, nothing lost",
    ]
    detail = {label: d for label, _ok, d in result.items}
    assert "lost" in detail["All 3 rows are stored in the served-request log, nothing lost"]
    services.lab_leave(user=learner_user, lab=lab)
    assert SERVED.stats()["dead_letters"] == 0  # leaving took back nothing left: all handled

    # a second attempt, left at once: what it planted is taken back
    learner_user.refresh_from_db()  # as each request loads its user (leaving took staff back)
    services.lab_start(user=learner_user, lab=lab)
    assert SERVED.stats()["dead_letters"] == 3
    services.lab_leave(user=learner_user, lab=lab)
    assert SERVED.stats()["dead_letters"] == 0

    # the third attempt, done right: read, retry each, let the flush run, check
    learner_user.refresh_from_db()
    services.lab_start(user=learner_user, lab=lab)
    page = client.get(reverse("admin:platform_core_deadletter_changelist"))
    assert page.status_code == 200, (page.status_code, page.get("Location"))
    letters = _dead_letter_forms(page.content.decode())
    assert len(letters) == 3
    for _rid, buffer, entry in letters:
        response = client.post(act, {"action": "retry", "buffer": buffer, "entry": entry})
        assert response.status_code == 302
    result = services.lab_check(user=learner_user, lab=lab)
    print("retried, not flushed:", result.items)
    assert _failed(result) == ["All 3 rows are stored in the served-request log, nothing lost"]
    assert "next flush" in result.items[-1][2]

    served_flush()  # what beat runs every 5 seconds
    session = ServedRequest.objects.get(request_id=letters[0][0]).session
    found = client.get(reverse("admin:analytics_servedrequest_changelist"), {"q": session})
    assert found.status_code == 200  # the learner sees them land
    assert "3 results" in found.content.decode()
    assert ServedRequest.objects.filter(session=session).count() == 3
    response = client.post(reverse("academy:lab_check", args=[lab.slug]))
    assert response.status_code == 302
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).order_by("-id").first()
    print("recovered:", attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items


# --- efficiency -------------------------------------------------------------------------------------


def test_efficiency_lab_quantises_and_promotes_within_tolerance(
    demo_embedded, client, learner_user
):
    """Step 1: the quantize job with Retriever version empty (the active one) and the defaults;
    step 2: the child's figures beside its parent's on its version page; step 3: Promote.
    Nothing done fails; the child left unpromoted fails."""
    from training import selectors

    parent = selectors.active_version("retriever")
    lab = Lab.objects.get(slug="quantise-the-active-retriever")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    assert _failed(services.lab_check(user=learner_user, lab=lab)) == [
        "A quantize job you launched succeeded",
        "Its quality is within tolerance, and you promoted it",
    ]

    job = _run(training_services.job_launch(kind="quantize", params={}, user=learner_user))
    child = job.result_version
    assert child.parent_id == parent.pk and child.precision == "int8"
    page = client.get(reverse("admin:training_modelversion_change", args=[child.pk]))
    assert page.status_code == 200  # the lab's grants open the version page
    assert "may be promoted" in page.content.decode()
    result = services.lab_check(user=learner_user, lab=lab)
    print("\nnot promoted:", result.items)
    assert _failed(result) == ["You promoted it and it is the active retriever"]

    response = client.post(reverse("admin:training_modelversion_promote", args=[child.pk]))
    assert response.status_code == 302
    assert selectors.active_version("retriever") == child
    client.post(reverse("academy:lab_check", args=[lab.slug]))
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).get()
    print("promoted:", attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items


# --- drafted copy -----------------------------------------------------------------------------------


def _approve_passing(client, ids: list[int]):
    """The queue's bulk action on the selected drafts (it publishes only passing ones)."""
    return client.post(
        reverse("admin:copywriting_copydraft_changelist"),
        {"action": "approve_passing", "_selected_action": [str(i) for i in ids]},
    )


def test_drafted_copy_lab_approves_passing_drafts_and_rejects_the_marked_one(
    demo, client, learner_user
):
    """Starting the lab plants a draft the guardrails mark; step 2: generate_copy with its
    defaults; step 3: reject the marked draft, approve the passing ones. Publishing the marked
    draft fails (first attempt); nothing done fails; the passing ones approved but the marked
    one left pending fails; rejecting it passes."""
    from catalog.copywriting.models import CopyDraft
    from catalog.models import Product

    lab = Lab.objects.get(slug="review-drafted-copy")
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    queue = client.get(reverse("admin:copywriting_copydraft_changelist"), {"passes_checks": "0"})
    assert queue.status_code == 200  # the lab's grants open the queue
    (planted,) = CopyDraft.objects.filter(status="pending")
    assert not planted.passes_checks and [c["name"] for c in planted.failed_checks] == [
        "attributes"
    ]
    assert planted.product.title in queue.content.decode()
    assert _failed(services.lab_check(user=learner_user, lab=lab)) == [
        "A generate_copy job you launched succeeded",
        "You reviewed your job's drafts that pass every check, and approved them",
        "You rejected the draft the guardrails marked",
    ]

    # the wrong thing: the marked draft published from its own page
    change = reverse("admin:copywriting_copydraft_change", args=[planted.pk])
    assert client.post(change, {"text": planted.text, "_approve": "1"}).status_code == 302
    assert Product.objects.get(pk=planted.product_id).description == planted.text
    result = services.lab_check(user=learner_user, lab=lab)
    print("\nmarked draft published:", result.items)
    assert _failed(result) == [
        "A generate_copy job you launched succeeded",
        "You reviewed your job's drafts that pass every check, and approved them",
        "You rejected the draft the guardrails marked",
        "No draft the guardrails marked was published by you",
    ]
    services.lab_leave(user=learner_user, lab=lab)

    # a second attempt, done right
    learner_user.refresh_from_db()  # as each request loads its user (leaving took staff back)
    services.lab_start(user=learner_user, lab=lab)
    (planted,) = CopyDraft.objects.filter(status="pending")
    job = _run(training_services.job_launch(kind="generate_copy", params={}, user=learner_user))
    drafts = list(CopyDraft.objects.filter(job_id=job.pk))
    passing = [d.pk for d in drafts if d.passes_checks]
    print(f"{len(drafts)} drafted, {len(passing)} pass every check")
    assert passing
    # the bulk action on everything in the queue publishes the passing drafts only
    assert _approve_passing(client, [d.pk for d in drafts] + [planted.pk]).status_code == 302
    assert CopyDraft.objects.get(pk=planted.pk).status == "pending"
    assert set(
        CopyDraft.objects.filter(status="approved", job_id=job.pk).values_list("pk", flat=True)
    ) == set(passing)
    marked = [d.pk for d in drafts if not d.passes_checks]
    for pk in marked:  # the job's own marked drafts, if any, rejected too
        client.post(reverse("admin:copywriting_copydraft_change", args=[pk]), {"_reject": "1"})
    result = services.lab_check(user=learner_user, lab=lab)
    print("passing approved, marked left:", result.items)
    assert _failed(result) == ["You rejected the draft the guardrails marked"]

    change = reverse("admin:copywriting_copydraft_change", args=[planted.pk])
    assert client.post(change, {"text": planted.text, "_reject": "1"}).status_code == 302
    client.post(reverse("academy:lab_check", args=[lab.slug]))
    attempt = LabAttempt.objects.filter(user=learner_user, lab=lab).order_by("-id").first()
    print("reviewed:", attempt.results.first().items)
    assert attempt.status == LabAttempt.Status.PASSED, attempt.results.first().items
