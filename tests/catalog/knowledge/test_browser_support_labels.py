"""Support labels in a real browser (Playwright driving Debian's Chromium): an operator adds a
support question's category in Catalog → Support labels (the question is saved normalised as serving normalises one),
finds it with the category filter and the search box, all without a Content-Security-Policy
violation."""

from __future__ import annotations

import os

import pytest

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
def test_an_operator_labels_a_support_question(browser, live_server):
    from catalog.knowledge.models import SupportLabel
    from tests import factories

    factories.UserFactory(username="kb-oper", role="operator")
    SupportLabel.objects.create(query="where is my parcel", category="shipping")
    base = live_server.url
    context, page, outside = signed_in_admin_page(
        browser, base, "kb-oper", viewport={"width": 1280, "height": 800}
    )
    try:
        page.goto(f"{base}/admin/knowledge/supportlabel/add/")
        page.get_by_label("Query").fill("  Do you take   PayPal? ")
        page.get_by_label("Category").select_option("payment")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(f"{base}/admin/knowledge/supportlabel/")
        saved = SupportLabel.objects.get(category="payment")
        assert saved.query == "do you take paypal?" and saved.user.username == "kb-oper"

        page.goto(f"{base}/admin/knowledge/supportlabel/?category__exact=payment")
        assert "do you take paypal?" in page.content()
        assert "where is my parcel" not in page.content()
        page.goto(f"{base}/admin/knowledge/supportlabel/?q=parcel")
        assert "where is my parcel" in page.content()
        if os.environ.get("AISLE_SCREENSHOTS"):
            page.goto(f"{base}/admin/knowledge/supportlabel/")
            page.screenshot(path=os.environ["AISLE_SCREENSHOTS"] + "/support-labels.png")
        assert page.evaluate("window.__csp") == []
        assert outside == []
    finally:
        context.close()
