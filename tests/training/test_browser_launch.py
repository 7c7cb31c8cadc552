"""Issue 13 §4 in a real browser (Playwright driving Debian's Chromium): an operator launches a
job from the launch page — nothing preselected, a kind picked by its name, a version picked
from a list — and a new experiment's variant lists narrow to the chosen surface's strategies."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_operator_launches_a_job_and_picks_variants_of_the_surface(browser, live_server):
    from tests import factories
    from training.models import Job, Task

    factories.UserFactory(username="browser-oper", role="operator")
    base = factories.ModelVersionFactory(task=Task.RETRIEVER, name="base minilm", is_active=True)
    factories.ModelVersionFactory(task=Task.CF, name="some cf")
    search = factories.StrategyFactory(name="search strategy", surface="search")
    recs = factories.StrategyFactory(name="recs strategy", surface="recommendations")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("browser-oper")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}{reverse('admin:training_job_launch')}")
    assert page.locator("form[method=post] input[type=submit]").count() == 0  # nothing chosen
    assert page.get_by_text("no previous run").count() >= 6
    page.get_by_role("link", name="Fine-tune the retriever").click()
    page.wait_for_selector("select[name=base_version]")
    options = page.locator("select[name=base_version] option").all_inner_texts()
    assert options == ["the active version", f"#{base.pk} base minilm — active"]
    page.get_by_label("Start from retriever version").select_option(
        label=f"#{base.pk} base minilm — active"
    )
    page.get_by_label("Epochs").fill("2")
    page.get_by_role("button", name="Launch: Fine-tune the retriever").click()
    page.wait_for_selector("#job-live")
    job = Job.objects.get()
    assert job.kind == "finetune_retriever" and job.params["base_version"] == base.pk
    assert job.params["epochs"] == 2

    page.goto(f"{live_server.url}{reverse('admin:experiments_experiment_add')}")
    page.select_option("#id_surface", "recommendations")
    strategy = page.locator("select[name='variants-0-strategy']")
    assert strategy.locator(f"option[value='{search.pk}']").is_disabled()
    assert not strategy.locator(f"option[value='{recs.pk}']").is_disabled()
    page.select_option("#id_surface", "search")
    assert not strategy.locator(f"option[value='{search.pk}']").is_disabled()
    assert strategy.locator(f"option[value='{recs.pk}']").is_disabled()
    context.close()
