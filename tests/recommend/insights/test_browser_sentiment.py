"""The review-sentiment pages in a real browser (Playwright driving Debian's Chromium): on the
demo store (seed 42, timeline ending now) scored by ``score_reviews`` with no sentiment model
active, an operator opens "Most negative products this week" from the admin home's Insights
group, sees the planted spike and the rating-proxy notice, follows the product to its series
and reads the planted defect among the rising phrases; nothing loads from outside and no
Content-Security-Policy rule breaks. Screenshots go to test-artifacts/sentiment/ (the copies in
docs/images/sentiment-*.png are refreshed by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser_pages import signed_in_admin_page
from tests.conftest import CHROMIUM

IMAGES = Path(__file__).resolve().parents[3] / "test-artifacts" / "sentiment"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_operator_finds_the_planted_spike_and_its_phrase(browser, live_server, tmp_path):
    from catalog.models import Product
    from catalog.services.demo import demo_store_build
    from platform_core.roles import sync_role_permissions
    from recommend.insights.services.sentiment import rating_scorer, reviews_score
    from tests.factories import UserFactory

    sync_role_permissions()  # a transactional test before this one flushed the role groups
    UserFactory(username="sentiment-oper", role="operator")
    result = demo_store_build(products=300, shoppers=150, days=30, seed=42, truth_dir=tmp_path)
    truth = json.loads(result.truth_files["sentiment_spike"].read_text())
    reviews_score(scorer=rating_scorer, source="rating", model_version_id=None)
    title = Product.objects.get(external_id=truth["product"]).title

    base = live_server.url
    context, page, outside = signed_in_admin_page(
        browser, base, "sentiment-oper", viewport={"width": 1200, "height": 900}
    )
    IMAGES.mkdir(parents=True, exist_ok=True)

    def shoot(name: str) -> None:
        page.locator("#content").screenshot(path=str(IMAGES / f"sentiment-{name}.png"))

    page.locator("#workflow-insights").get_by_role(
        "link", name="Most negative products this week"
    ).click()
    page.wait_for_url("**/admin/insights/sentiment/worst/")
    assert "No sentiment model is active" in page.locator("#sentiment-state").inner_text()
    spikes = page.locator("#sentiment-spikes tr", has_text=title)
    assert spikes.count() >= 1
    assert page.locator("#sentiment-worst tr").nth(1).inner_text().startswith(title)
    shoot("worst")

    page.locator("#sentiment-worst").get_by_role("link", name=title).click()
    page.wait_for_url("**/admin/insights/sentiment/trend/?level=product*")
    page.locator("#sentiment-chart svg rect.aisle-bar").first.wait_for(state="attached")
    assert title in page.locator("#series-name").inner_text()
    shoot("trend")

    page.locator(".aisle-analytics-nav").get_by_role("link", name="Rising negative phrases").click()
    page.wait_for_url("**/admin/insights/sentiment/phrases/")
    assert truth["defect_phrase"] in page.locator("#sentiment-phrases").inner_text()
    shoot("phrases")

    violations = page.evaluate("window.__csp")
    context.close()
    assert outside == [] and violations == [], (outside, violations)
