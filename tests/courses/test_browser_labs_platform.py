"""The drafted-copy lab in a real browser (Playwright driving Debian's Chromium), as a learner:
start the lab (it plants a bad draft), run the check (not yet), let the cpu worker run the
learner's generate_copy job, then in the admin with the lab's grants: filter the queue to the
marked drafts, open the planted one, read its marks and reject it; filter to the passing drafts,
select them all and run the bulk action that publishes passing drafts; run the check, which
passes. Screenshots go to test-artifacts/academy/."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM
from tests.courses.test_browser import _shot, page  # noqa: F401 (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]

LAB = "review-drafted-copy"


@pytest.mark.django_db(transaction=True)
def test_drafted_copy_lab_in_the_browser(page, live_server, lab_store):  # noqa: F811
    from catalog.copywriting.models import CopyDraft
    from courses.models import LabAttempt
    from tests.factories import UserFactory
    from training import services as training_services

    # the lab store and the curriculum (tests/courses/lab_store.py: built once, copied in)
    learner = UserFactory(username="maya", first_name="Maya", role="learner", is_staff=False)
    base = live_server.url

    page.goto(f"{base}/academy/labs/{LAB}/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#start-lab")
    page.click("#start-lab")
    page.wait_for_selector("#run-check")
    page.click("#run-check")  # nothing done yet: the check says what is missing
    page.wait_for_selector("text=Latest check: not yet")
    (planted,) = CopyDraft.objects.filter(status="pending")

    # the learner's job, as the cpu worker runs it
    job = training_services.job_launch(kind="generate_copy", params={}, user=learner)
    job = training_services.job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error

    # the marked drafts: open the planted one, read its marks, reject it
    page.goto(f"{base}/admin/copywriting/copydraft/?passes_checks__exact=0")
    row = page.locator("#result_list tbody tr", has_text=planted.product.title)
    assert "marked: attributes" in row.inner_text()
    _shot(page, "lab-copy-marked-drafts")
    row.locator("a").first.click()
    page.wait_for_selector("input[name=_reject]")
    _shot(page, "lab-copy-planted-draft")
    page.locator("input[name=_reject]").click()
    page.wait_for_selector(".messagelist")

    # the passing drafts: select them all, publish them with the bulk action
    page.goto(f"{base}/admin/copywriting/copydraft/?passes_checks__exact=1&status__exact=pending")
    assert page.locator("#result_list tbody tr").count() == job.metrics["passed"]
    page.check("#action-toggle")
    page.select_option("select[name=action]", "approve_passing")
    page.locator("button[name=index]").click()
    page.wait_for_selector(".messagelist")
    assert "draft(s) published" in page.locator(".messagelist").inner_text()

    page.goto(f"{base}/academy/labs/{LAB}/")
    page.click("#run-check")
    page.wait_for_selector("text=Check passed")
    _shot(page, "lab-copy-passed")
    assert LabAttempt.objects.get(lab__slug=LAB).status == "passed"
    assert CopyDraft.objects.get(pk=planted.pk).status == "rejected"
    assert page.outside_requests == [] and page.dialogs == []
