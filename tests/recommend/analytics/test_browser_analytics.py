"""The search analytics pages in a real browser (Playwright driving Debian's Chromium): an
operator signs in, opens each page from the admin home's Insights group with the planted
traffic's non-zero figures, sees fix actions on a zero-result query and the position-bias
chart; nothing loads from outside and no Content-Security-Policy rule breaks. Screenshots go
to test-artifacts/analytics/ (the copies in docs/images/analytics-*.png, which the README and
docs/analytics.md show, are refreshed by hand: a test run never rewrites tracked files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_pages import signed_in_admin_page
from tests.conftest import CHROMIUM

IMAGES = Path(__file__).resolve().parents[3] / "test-artifacts" / "analytics"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_operator_opens_the_search_analytics_pages(browser, live_server):
    from platform_core.roles import sync_role_permissions
    from tests.factories import UserFactory
    from tests.recommend.analytics.planted_traffic import plant

    sync_role_permissions()  # a transactional test before this one flushed the role groups
    UserFactory(username="insights-oper", role="operator")
    plant()
    base = live_server.url
    context, page, outside = signed_in_admin_page(
        browser, base, "insights-oper", viewport={"width": 1200, "height": 760}
    )
    IMAGES.mkdir(parents=True, exist_ok=True)

    def shoot(name: str) -> None:
        page.locator("#content").screenshot(path=str(IMAGES / f"analytics-{name}.png"))

    # from the home page's Insights group
    page.locator("#workflow-insights").get_by_role("link", name="Top search queries").click()
    page.wait_for_url("**/admin/insights/search/queries/")
    page.get_by_role("link", name="last 24 hours").click()
    page.wait_for_url("**/queries/?range=24h")
    red = page.locator("#result_list tr", has_text="red shoes").inner_text()
    assert "50.0%" in red and "2.0" in red, red
    shoot("queries")

    # the other pages open on the same range
    page.locator(".aisle-analytics-nav").get_by_role(
        "link", name="Zero-result and low-CTR queries"
    ).click()
    assert page.url.endswith("/admin/insights/search/problems/?range=24h")
    zero = page.locator("#zero-results tr", has_text="blue hat")
    assert "100.0%" in zero.inner_text()
    assert zero.get_by_role("link", name="Add a synonym").is_visible()
    assert zero.get_by_role("link", name="Pin a product").is_visible()
    page.fill("input[name=min]", "1")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/problems/?*min=1")
    assert "green socks" in page.locator("#low-ctr").inner_text()
    shoot("problems")

    page.locator(".aisle-analytics-nav").get_by_role(
        "link", name="CTR by position and surface"
    ).click()
    bars = page.locator("#position-chart svg rect.aisle-bar")
    bars.nth(2).wait_for(state="attached", timeout=5000)
    assert bars.count() == 3
    assert "33.3%" in page.locator("#positions").inner_text()
    shoot("positions")

    page.locator(".aisle-analytics-nav").get_by_role("link", name="Volume and latency").click()
    page.wait_for_url("**/admin/insights/search/latency/?range=24h")
    assert page.locator("#stages tr", has_text="semantic").is_visible()
    assert page.locator(".aisle-analytics-sparks svg").count() == 3
    shoot("latency")

    # a bad custom range is refused in words
    page.fill("input[name=from]", "2026-12-05")
    page.fill("input[name=to]", "2026-12-01")
    page.get_by_role("button", name="Show").first.click()
    page.wait_for_url("**/latency/?*from=*")
    assert "is after 'to'" in page.locator("#range-error").inner_text()

    violations = page.evaluate("window.__csp")
    context.close()
    assert outside == [] and violations == [], (outside, violations)
