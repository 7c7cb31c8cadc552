"""Login lockout (django-axes) on the admin and Academy sign-in pages, the trusted-proxy rule for
the client address, and the unlock command."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from platform_core.models import AuditLog
from platform_core.security import client_ip_from
from tests.factories import UserFactory

LOGIN_PAGES = ["/admin/login/", "/academy/login/"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hundreds of sign-ins: a fast hasher keeps the module quick (what is tested is the count)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _attempt(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password, "next": "/"}, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_25_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(
    client, url, settings
):
    UserFactory(username="dana", is_superuser=True)
    statuses = [_attempt(client, url, "dana", f"guess-{i}").status_code for i in range(25)]
    # the first failures are ordinary "wrong password" pages; from the limit on, a lockout
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}

    right = _attempt(client, url, "dana", "pass-1234")
    assert right.status_code == 429 and not _signed_in(client)
    page = right.content.decode()
    assert "Sign-in locked" in page and "Too many failed sign-ins" in page
    assert "unlock_login" in page and int(right["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_client_address_is_locked_across_usernames(client, settings):
    """Spraying one password over many usernames from one address locks the address."""
    UserFactory(username="eve-target")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "/academy/login/", f"nobody-{i}", "Summer2026!")
    assert _attempt(client, "/academy/login/", "eve-target", "pass-1234").status_code == 429
    # another address is not affected
    assert (
        _attempt(
            client, "/academy/login/", "eve-target", "pass-1234", REMOTE_ADDR="10.9.8.7"
        ).status_code
        == 302
    )


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(client, settings):
    UserFactory(username="fay")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "/academy/login/", "fay", "wrong")
    assert _attempt(client, "/academy/login/", "fay", "pass-1234").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "/academy/login/", "fay", "wrong")
    assert _attempt(client, "/academy/login/", "fay", "pass-1234").status_code == 302


@pytest.mark.django_db
def test_json_clients_get_the_house_error_body(client, settings):
    UserFactory(username="gus")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "/admin/login/", "gus", "wrong")
    response = _attempt(client, "/admin/login/", "gus", "pass-1234", HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    body = response.json()
    assert (
        body["error"]["code"] == "locked_out"
        and body["error"]["details"]["retry_after_seconds"] > 0
    )


@pytest.mark.django_db
def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(client, settings):
    UserFactory(username="hal")
    settings.TRUSTED_PROXY_COUNT = 0
    # an attacker rotating X-Forwarded-For is still one address: locked after the limit
    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(
            client, "/academy/login/", f"spray-{i}", "x", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"
        )
    locked = _attempt(
        client, "/academy/login/", "hal", "pass-1234", HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert locked.status_code == 429


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_proxy_written_address_counts(client, settings):
    UserFactory(username="ivy")
    settings.TRUSTED_PROXY_COUNT = 1
    # all requests come from the proxy's socket address; the client is what the proxy appended
    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(
            client,
            "/academy/login/",
            f"spray-{i}",
            "x",
            REMOTE_ADDR="172.18.0.5",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    from_attacker = _attempt(
        client,
        "/academy/login/",
        "ivy",
        "pass-1234",
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    assert from_attacker.status_code == 429
    # a spoofed left-most entry does not escape: the proxy's own (right-most) entry is used
    spoofed = _attempt(
        client,
        "/academy/login/",
        "ivy",
        "pass-1234",
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.66",
    )
    assert spoofed.status_code == 429
    # another client behind the same proxy signs in
    other = _attempt(
        client,
        "/academy/login/",
        "ivy",
        "pass-1234",
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert other.status_code == 302 and _signed_in(client)


def test_client_ip_from_rules():
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="1.2.3.4", trusted_proxies=0)
        == "10.0.0.2"
    )
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="1.2.3.4", trusted_proxies=1)
        == "1.2.3.4"
    )
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="9.9.9.9, 1.2.3.4", trusted_proxies=1)
        == "1.2.3.4"
    )
    assert (
        client_ip_from(
            remote_addr="10.0.0.2", forwarded_for="9.9.9.9, 1.2.3.4, 10.0.0.9", trusted_proxies=2
        )
        == "1.2.3.4"
    )
    # shorter than the trusted chain, or not an address: the socket address
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="1.2.3.4", trusted_proxies=2)
        == "10.0.0.2"
    )
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="evil", trusted_proxies=1)
        == "10.0.0.2"
    )
    assert (
        client_ip_from(remote_addr="10.0.0.2", forwarded_for="2001:db8::1", trusted_proxies=1)
        == "2001:db8::1"
    )


@pytest.mark.django_db
def test_unlock_login_lifts_the_lockout_and_is_audited(client, settings, capsys):
    UserFactory(username="jo")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "/admin/login/", "jo", "wrong")
    assert _attempt(client, "/admin/login/", "jo", "pass-1234").status_code == 429

    call_command("unlock_login", "jo")
    assert "Unlocked user 'jo'" in capsys.readouterr().out
    assert _attempt(client, "/admin/login/", "jo", "pass-1234").status_code == 302 and _signed_in(
        client
    )
    entry = AuditLog.objects.get(action="login.unlock")
    assert entry.details["username"] == "jo" and entry.details["attempt_records_removed"] >= 1


@pytest.mark.django_db
def test_unlock_login_by_address(client, settings):
    UserFactory(username="kit")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "/academy/login/", f"spray-{i}", "x")
    assert _attempt(client, "/academy/login/", "kit", "pass-1234").status_code == 429
    call_command("unlock_login", ip="127.0.0.1")
    assert _attempt(client, "/academy/login/", "kit", "pass-1234").status_code == 302


@pytest.mark.django_db
def test_attempts_and_lockouts_are_on_the_admin(client, admin_user, settings):
    other = client.__class__()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(other, "/admin/login/", "mallory", "x")
    client.force_login(admin_user)
    page = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200 and "mallory" in page.content.decode()
