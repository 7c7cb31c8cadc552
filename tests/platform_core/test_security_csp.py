"""The Content-Security-Policy header, and a guard over the sources: no template or HTML built in
Python may carry an inline style, an inline script or an event-handler attribute, because the
policy blocks them (the browser test, test_browser_csp.py, shows it on the pages it visits; this
test covers every template, including pages added later)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["platform_core", "catalog", "recommend", "training", "courses"]

TEMPLATE_RULES = {
    "inline style attribute": re.compile(r"<[a-zA-Z][^<>]*\sstyle\s*=", re.S),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "inline <script>": re.compile(
        r"<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
    ),
    "event-handler attribute": re.compile(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=\s*[\"']", re.S),
    "javascript: URL": re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I),
}
# a style attribute inside a Python string literal (format_html, mark_safe, f-strings); a keyword
# argument named style (e.g. PyYAML's) is not a string and does not count
PYTHON_INLINE_STYLE = re.compile(r"""(?:^|[\s'"])style\s*=\s*\\?["']""")


def _templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    for app in APPS:
        found += (ROOT / app).rglob("templates/**/*.html")
    return sorted(set(found))


def _strip_comments(text: str) -> str:
    text = re.sub(r"\{#.*?#\}", "", text)
    text = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", "", text, flags=re.S)
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def test_no_template_needs_unsafe_inline():
    problems = []
    templates = _templates()
    assert len(templates) > 30
    for path in templates:
        text = _strip_comments(path.read_text(encoding="utf-8"))
        for what, rule in TEMPLATE_RULES.items():
            for match in rule.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert problems == [], (
        "\n".join(problems) + "\nUse a class in a static CSS file, or a static JS file."
    )


def test_no_html_built_in_python_has_an_inline_style():
    problems = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.STRING and PYTHON_INLINE_STYLE.search(token.string):
                    problems.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert problems == [], (
        "inline style= in HTML built in Python (use a class in aisle/admin.css):\n"
        + "\n".join(problems)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/admin/login/", "/academy/login/", "/api/docs/", "/healthz", "/api/v1/whoami"]
)
def test_every_response_carries_the_policy(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert (
        "'unsafe-inline'" not in directives["script-src"]
        and "'unsafe-eval'" not in directives["script-src"]
    )
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_swagger_ui_is_served_without_inline_script(client):
    page = client.get("/api/docs/").content.decode()
    assert "<style" not in page and re.search(r"<script>", page) is None
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
