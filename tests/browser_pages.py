"""What the admin's browser tests share: a page that records Content-Security-Policy violations
and refuses every request outside the live server, signed in through the admin's login form."""

from __future__ import annotations

# Injected through the DevTools protocol before any page script, so the CSP does not apply to it.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def signed_in_admin_page(browser, base: str, username: str, *, viewport: dict):
    """``(context, page, outside)``: a fresh context whose page is signed in to the admin as
    ``username`` (password ``pass-1234``, the factories'); ``outside`` collects the URLs it
    tried to load from anywhere but ``base`` (all refused). ``page.evaluate("window.__csp")``
    lists the CSP violations."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/admin/")
    return context, page, outside
