"""The error pages live in the top-level templates/ and extend the site-wide base layout; the
API's errors stay JSON. Tests run with DEBUG=False, as production does, so Django renders them."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.urls import get_resolver

PAGES = {
    400: "<h1>Bad request</h1>",
    403: "<h1>Access denied</h1>",
    404: "<h1>Page not found</h1>",
    500: "<h1>Server error</h1>",
}


def _handle(status: int, path: str):
    request = RequestFactory().get(path)
    handler = get_resolver().resolve_error_handler(status)
    if status == 500:
        return handler(request)
    exception = {400: ValueError, 403: PermissionDenied, 404: Http404}[status]("nope")
    return handler(request, exception)


@pytest.mark.parametrize("status", sorted(PAGES))
def test_a_page_error_renders_the_sites_error_page(settings, status):
    assert settings.DEBUG is False
    response = _handle(status, "/academy/somewhere/")
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert PAGES[status] in html
    assert html.startswith("<!doctype html>")  # the site-wide base layout
    assert 'class="skip-link"' in html
    assert "aisle/site.css" in html and 'href="/academy/"' in html  # styled, with ways back


@pytest.mark.parametrize("status", [404, 500])
def test_an_api_error_stays_json(status):
    response = _handle(status, "/api/v1/no-such-thing")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert (
        json.loads(response.content)["error"]["code"]
        == {404: "not_found", 500: "server_error"}[status]
    )


@pytest.mark.django_db
def test_an_unknown_page_is_the_html_404(client):
    response = client.get("/academy/no-such-page/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()
    assert "/academy/no-such-page/" in response.content.decode()
