"""The zero-result lab in a real browser (Playwright driving Debian's Chromium), as a learner:
start the lab, open the search analytics' problem queries in the admin with the lab's grants,
press "Add a synonym" on the worst query, complete the prefilled terms, save, and run the check,
which replays the query on the live search. Screenshots go to test-artifacts/academy/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM
from tests.courses.test_browser import ARTIFACTS, _shot, page  # noqa: F401 (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_zero_result_lab_in_the_browser(page, live_server, lab_store):  # noqa: F811
    from courses.models import LabAttempt
    from recommend.analytics import rollups
    from tests.factories import UserFactory

    # the lab store and the curriculum (tests/courses/lab_store.py: built once, copied in)
    planted = json.loads(Path(lab_store["zero_results"]).read_text())["queries"]
    worst = planted[0]
    rollups.refresh(full=True)  # what beat does every minute
    UserFactory(username="maya", first_name="Maya", role="learner", is_staff=False)
    base = live_server.url

    page.goto(f"{base}/academy/labs/fix-worst-zero-result-query/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#start-lab")
    page.click("#start-lab")
    page.wait_for_selector("#run-check")
    page.click("#run-check")  # nothing done yet: the check says what is missing
    page.wait_for_selector("text=Latest check: not yet")
    _shot(page, "lab-zero-result-not-yet")

    page.goto(f"{base}/admin/insights/search/problems/")
    first_row = page.locator("#zero-results tbody tr").first
    assert first_row.locator("th").inner_text().strip() == worst["query"]
    _shot(page, "lab-zero-result-problem-queries")
    first_row.get_by_role("link", name="Add a synonym").click()
    terms = page.locator("#id_terms")
    assert terms.input_value().startswith(worst["query"])
    terms.fill(f"{worst['query']}, {worst['fix']}")
    page.locator("input[name=_save]").click()
    page.wait_for_selector(".messagelist")

    page.goto(f"{base}/academy/labs/fix-worst-zero-result-query/")
    page.click("#run-check")
    page.wait_for_selector("text=Check passed")
    _shot(page, "lab-zero-result-passed")
    assert LabAttempt.objects.get(lab__slug="fix-worst-zero-result-query").status == "passed"
    assert page.outside_requests == [] and page.dialogs == []


@pytest.mark.django_db(transaction=True)
def test_data_value_lab_answer_box_in_the_browser(page, live_server, lab_store):  # noqa: F811
    """The lab's question in the browser: a wrong answer typed in the box fails the last item
    (and is kept in the box), the report's most valuable source passes."""
    from courses.models import LabAttempt
    from tests.factories import UserFactory
    from training import services as training_services
    from training.models import DataValueReport

    learner = UserFactory(username="maya", first_name="Maya", role="learner", is_staff=False)
    base = live_server.url
    page.goto(f"{base}/academy/labs/data-value-most-valuable-source/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Sign in").click()
    page.click("#start-lab")
    page.wait_for_selector("#lab-answer")

    # the learner's job, as the cpu worker runs it
    job = training_services.job_launch(kind="data_value", params={"task": "cf"}, user=learner)
    training_services.job_run(job_id=job.pk)
    report = DataValueReport.objects.get()
    measured = [r for r in report.ablation if not r.get("skipped")]
    top = max(measured, key=lambda r: r["change"])
    wrong = next(r["title"] for r in measured if r is not top)

    page.get_by_label("Which source is the most valuable").fill(wrong)
    page.click("#run-check")
    page.wait_for_selector("text=Latest check: not yet")
    assert page.locator("#lab-answer").input_value() == wrong
    _shot(page, "lab-data-value-wrong-answer")
    page.get_by_label("Which source is the most valuable").fill(top["title"])
    page.click("#run-check")
    page.wait_for_selector("text=Check passed")
    _shot(page, "lab-data-value-passed")
    assert (
        LabAttempt.objects.get(lab__slug="data-value-most-valuable-source").answer == top["title"]
    )
    assert page.outside_requests == [] and page.dialogs == []
