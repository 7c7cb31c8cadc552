"""The approval queue in a real browser (Playwright driving Debian's Chromium): an operator opens
a draft, sees the current description and the draft side by side with the guardrails' verdicts
and the drafter, edits it, approves it — the description is written, an audit row says so, the
product is marked for re-embedding — all without a Content-Security-Policy violation."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from tests.browser_pages import signed_in_admin_page
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_an_operator_approves_a_draft_in_the_queue(browser, live_server):
    from catalog.copywriting import services
    from catalog.copywriting.logic.drafting import Draft
    from catalog.copywriting.logic.guardrails import Check
    from catalog.copywriting.models import CopyDraft, DraftStatus
    from catalog.models import Product
    from platform_core.models import AuditLog
    from tests import factories
    from tests.factories.catalog import ProductFactory

    factories.UserFactory(username="copy-oper", role="operator")
    product = ProductFactory(
        title="Brisa Arc Kettle", description="Kettle.", attributes={"colour": "black"}
    )
    marked = ProductFactory(title="Volta Glow Kettle", description="")
    Product.objects.filter(pk=product.pk).update(needs_embedding=False)
    ok = [Check(n, True) for n in ("attributes", "banned_words", "length", "duplicate")]
    services.drafts_store(
        drafted=[
            (
                Draft(
                    product.pk,
                    "The Brisa Arc Kettle boils water quickly. Colour: black.",
                    "template-extractive",
                ),
                ok,
                "Kettle.",
            ),
            (
                Draft(marked.pk, "A red glass kettle from Volta.", "model:tiny"),
                [
                    Check("attributes", False, "mentions values the product does not have: red"),
                    *ok[1:],
                ],
                "",
            ),
        ]
    )
    draft = CopyDraft.objects.get(product=product)
    context, page, outside = signed_in_admin_page(
        browser, live_server.url, "copy-oper", viewport={"width": 1280, "height": 1000}
    )
    page.goto(f"{live_server.url}{reverse('admin:copywriting_copydraft_changelist')}")
    assert page.get_by_text("marked: attributes").count() == 1  # marked, not hidden
    if os.environ.get("COPY_QUEUE_SCREENSHOT"):
        page.screenshot(path=os.environ["COPY_QUEUE_SCREENSHOT"], full_page=True)
    page.get_by_role("link", name="Brisa Arc Kettle").click()
    assert page.locator("#copy-current").inner_text() == "Kettle."
    assert "template/extractive" in page.locator("#copy-drafter").inner_text()
    assert page.locator("#copy-checks li.aisle-check-ok").count() == 4
    edited = "The Brisa Arc Kettle boils water quickly and switches itself off. Colour: black."
    page.locator("#id_text").fill(edited)
    if os.environ.get("COPY_DRAFT_SCREENSHOT"):
        page.screenshot(path=os.environ["COPY_DRAFT_SCREENSHOT"], full_page=True)
    page.get_by_role("button", name="Approve and publish").click()
    page.wait_for_url(f"{live_server.url}{reverse('admin:copywriting_copydraft_changelist')}")
    assert page.get_by_text("Published:").count() == 1
    product.refresh_from_db()
    draft.refresh_from_db()
    assert product.description == edited and product.needs_embedding
    assert draft.status == DraftStatus.APPROVED and draft.edited
    audit = AuditLog.objects.get(action="copy_draft.approve")
    assert audit.actor_name == "copy-oper" and audit.details["product"] == product.pk
    assert page.evaluate("window.__csp") == [] and outside == []
    context.close()
