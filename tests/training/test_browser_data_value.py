"""The data-value report in a real browser (Playwright driving Debian's Chromium): both charts
draw under the admin's Content-Security-Policy (no violation) and the CSV link downloads."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from tests.browser_pages import signed_in_admin_page
from tests.conftest import CHROMIUM
from tests.training.test_admin_data_value import ABLATION, CURVE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_report_page_draws_both_charts_without_a_csp_violation(browser, live_server):
    from tests import factories
    from training.models import DataValueReport, ModelVersion, Task

    factories.UserFactory(username="value-oper", role="operator")
    version = ModelVersion.objects.create(task=Task.RANKER, name="ranker under study")
    report = DataValueReport.objects.create(
        task="ranker",
        version=version,
        metric="NDCG@10",
        baseline=0.73,
        held_out_units=40,
        unit="result lists",
        split={"method": "seeded hash", "seed": 42, "train": 200},
        ablation=ABLATION,
        curve=CURVE,
        summary=["Purchases carry most of the value."],
    )
    context, page, outside = signed_in_admin_page(
        browser, live_server.url, "value-oper", viewport={"width": 1280, "height": 1100}
    )
    page.goto(
        f"{live_server.url}{reverse('admin:training_datavaluereport_change', args=[report.pk])}"
    )
    assert page.locator('svg[aria-label="value of each data source"] rect').count() >= 2
    assert page.locator('svg[aria-label="learning curve"] circle').count() == 6
    if os.environ.get("DATA_VALUE_SCREENSHOT"):
        page.screenshot(path=os.environ["DATA_VALUE_SCREENSHOT"], full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"data-value-ranker-{report.pk}.csv"
    assert page.evaluate("window.__csp") == [] and outside == []
    context.close()
