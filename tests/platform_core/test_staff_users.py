"""Issue 13 §4: a staff user in a role is created on one admin page or with
``manage.py create_staff_user``; the labs' internal groups stay out of the groups picker."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from platform_core.models import AuditLog, User

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-Horse-42!"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_one_admin_page_creates_a_staff_user_in_a_role(admin_client, admin_user):
    add = reverse("admin:platform_core_user_add")
    html = admin_client.get(add).content.decode()
    assert 'name="role"' in html and "Operator — runs the catalog" in html
    resp = admin_client.post(
        add,
        {
            "username": "mara",
            "email": "mara@shop.test",
            "role": "analyst",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert resp.status_code == 302, resp.content.decode()[-3000:]
    user = User.objects.get(username="mara")
    assert user.is_staff and not user.is_superuser and user.check_password(PASSWORD)
    assert [g.name for g in user.groups.all()] == ["analyst"]
    entry = AuditLog.objects.get(action="user.create")
    assert entry.actor == admin_user and entry.details == {"role": "analyst"}

    admin_client.post(
        add,
        {"username": "leo", "role": "learner", "password1": PASSWORD, "password2": PASSWORD},
    )
    leo = User.objects.get(username="leo")
    assert not leo.is_staff and leo.has_role("learner")  # learners use the Academy only
    no_role = admin_client.post(
        add, {"username": "x", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert no_role.status_code == 200 and not User.objects.filter(username="x").exists()


def test_the_groups_picker_hides_the_labs_groups_and_keeps_a_members(admin_client):
    lab = Group.objects.create(name="lab:first-embedding")
    user = User.objects.create_user("learner1", password=PASSWORD)
    user.groups.add(Group.objects.get(name="learner"), lab)
    url = reverse("admin:platform_core_user_change", args=[user.pk])
    form = admin_client.get(url).context["adminform"].form
    names = [g.name for g in form.fields["groups"].queryset]
    assert "lab:first-embedding" not in names and {"operator", "analyst", "learner"} <= set(names)
    html = admin_client.get(url).content.decode()
    assert "lab:first-embedding" not in html.split('name="groups"')[1].split("</select>")[0]

    data = {
        "username": "learner1",
        "password": user.password,
        "is_active": "on",
        "groups": [Group.objects.get(name="analyst").pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    resp = admin_client.post(url, data)
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    assert sorted(user.groups.values_list("name", flat=True)) == ["analyst", "lab:first-embedding"]


def test_create_staff_user_command_reads_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEW_STAFF_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command(
        "create_staff_user",
        "ops",
        "--role",
        "operator",
        "--password-from-env",
        "NEW_STAFF_PASSWORD",
        stdout=out,
    )
    user = User.objects.get(username="ops")
    assert user.is_staff and user.has_role("operator") and user.check_password(PASSWORD)
    assert PASSWORD not in out.getvalue() and "operator 'ops'" in out.getvalue()

    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_staff_user",
            "OPS",
            "--role",
            "analyst",
            "--password-from-env",
            "NEW_STAFF_PASSWORD",
        )
    with pytest.raises(CommandError, match="not set or empty"):
        call_command(
            "create_staff_user", "ana2", "--role", "analyst", "--password-from-env", "NOPE_UNSET"
        )
    monkeypatch.setenv("WEAK", "123")
    with pytest.raises(CommandError, match="too short|too common|entirely numeric"):
        call_command(
            "create_staff_user", "ana3", "--role", "analyst", "--password-from-env", "WEAK"
        )
    with pytest.raises(CommandError):
        call_command(
            "create_staff_user", "ana4", "--role", "superuser", "--password-from-env", "WEAK"
        )
    assert not User.objects.filter(username__startswith="ana").exists()


def test_create_staff_user_command_asks_at_a_terminal_without_echo(monkeypatch):
    import getpass
    import sys

    answers = iter([PASSWORD, PASSWORD])
    asked = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or next(answers))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    out = io.StringIO()
    call_command("create_staff_user", "tess", "--role", "learner", stdout=out)
    assert asked == ["Password: ", "Password (again): "]
    assert User.objects.get(username="tess").check_password(PASSWORD)
    assert PASSWORD not in out.getvalue()

    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError, match="--password-from-env"):
        call_command("create_staff_user", "nobody", "--role", "learner")


def test_the_readme_documents_the_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert re.search(r"create_staff_user \S+ --role", readme)
