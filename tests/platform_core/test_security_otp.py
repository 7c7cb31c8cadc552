"""The optional second factor for staff (django-otp): off by default; when on, the admin needs a
one-time code as well as the password."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticDevice

from tests.factories import UserFactory


@pytest.fixture
def otp_required(settings):
    # the admin site's class reads the setting on each request (no patching of the instance)
    settings.STAFF_OTP_REQUIRED = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_off_by_default_a_password_is_enough(client, settings):
    assert settings.STAFF_OTP_REQUIRED is False
    assert 'name="otp_token"' not in client.get("/admin/login/").content.decode()
    UserFactory(username="nia", is_superuser=True)
    response = client.post(
        "/admin/login/", {"username": "nia", "password": "pass-1234", "next": "/admin/"}
    )
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_when_required_the_admin_asks_for_a_code(client, otp_required):
    staff = UserFactory(username="oli", is_superuser=True)
    client.force_login(staff)  # signed in with a password only (e.g. through the Academy)
    assert client.get("/admin/").status_code == 302

    page = client.get("/admin/login/").content.decode()
    assert 'name="otp_token"' in page
    without = client.post(
        "/admin/login/", {"username": "oli", "password": "pass-1234", "next": "/admin/"}
    )
    assert without.status_code == 200 and client.get("/admin/").status_code == 302

    device = StaticDevice.objects.create(user=staff, name="backup")
    device.token_set.create(token="c0de1234")
    signed = client.post(
        "/admin/login/",
        {
            "username": "oli",
            "password": "pass-1234",
            "otp_token": "c0de1234",
            "otp_device": device.persistent_id,
            "next": "/admin/",
        },
    )
    assert signed.status_code == 302, (
        signed.context["form"].errors if signed.context else signed.content[:500]
    )
    assert client.get("/admin/").status_code == 200
