"""`manage.py embedded start|stop|status`, and its deprecated one-release alias `services`."""

from io import StringIO

import pytest
from django.core.management import call_command

from platform_core import embedded


@pytest.fixture
def fake_servers(monkeypatch):
    """The embedded servers' state without touching the real ones."""
    monkeypatch.setattr(embedded, "services_running", lambda: {"postgres": True, "redis": False})
    monkeypatch.setattr(embedded, "stop_services", lambda: {"postgres": True, "redis": False})


def _run(name: str, action: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, action, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_embedded_status_and_stop(fake_servers):
    assert _run("embedded", "status") == ("postgres: running\nredis: stopped\n", "")
    assert _run("embedded", "stop") == ("postgres: stopped\nredis: was not running\n", "")


@pytest.mark.parametrize("action", ["status", "stop"])
def test_services_alias_forwards_with_a_deprecation_note(fake_servers, action):
    out, err = _run("services", action)
    assert out == _run("embedded", action)[0]
    assert err.strip() == (
        "`manage.py services` is deprecated and will be removed in the next release: "
        f"use `manage.py embedded {action}`."
    )
