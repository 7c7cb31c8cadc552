"""Forgetting and exporting a shopper, with other apps' hooks."""

import json

import pytest

from catalog import privacy
from catalog.models import Event, SearchLog, Shopper
from catalog.services.privacy import shopper_forget
from platform_core.models import AuditLog
from tests.factories import EventFactory, SearchLogFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    shopper = ShopperFactory(external_id="alice", segment="premium", country="FR")
    EventFactory(
        shopper=shopper, type="review", value=5, review="Lovely, my name is Alice", session="sess-a"
    )
    EventFactory(shopper=shopper, type="view", session="sess-a")
    SearchLogFactory(shopper=shopper, session="sess-a")
    other = ShopperFactory(external_id="bob")
    EventFactory(shopper=other)
    return shopper


@pytest.fixture
def hooks(monkeypatch):
    calls = []
    monkeypatch.setattr(privacy, "FORGET_HOOKS", [])
    monkeypatch.setattr(privacy, "EXPORT_SECTIONS", [])

    def forget_experiments(ctx: privacy.ForgetContext):
        calls.append((ctx.shopper.external_id, ctx.mode, ctx.replacement))
        return {"assignments": 2}

    privacy.register_forget_hook(forget_experiments)
    privacy.register_forget_hook(forget_experiments)  # registering twice keeps one
    privacy.register_export_section(
        "experiments", lambda shopper: [{"experiment": "x", "shopper": shopper.external_id}]
    )
    return calls


def test_forget_deletes_personal_rows_in_delete_mode(alice, hooks, run_command, settings):
    settings.SHOPPER_FORGET_MODE = "delete"
    result = run_command("shopper_forget", "alice")
    assert result.code == 0 and "2 events" in result.out and "2 assignments" in result.out
    assert list(Shopper.objects.values_list("external_id", flat=True)) == ["bob"]
    assert Event.objects.count() == 1 and not SearchLog.objects.exists()
    assert hooks == [("alice", "delete", None)]
    entry = AuditLog.objects.get(action="shopper.forget")
    assert (
        entry.object_id.startswith("sha256:")
        and "alice" not in json.dumps(entry.details) + entry.object_repr
    )


def test_forget_anonymises_events_when_configured(alice, hooks, settings):
    settings.SHOPPER_FORGET_MODE = "anonymise"
    counts = shopper_forget(external_id="alice")
    assert counts["events"] == 2 and counts["searches"] == 1
    assert not Shopper.objects.filter(external_id="alice").exists()
    anonymous = Shopper.objects.get(external_id__startswith="anon-")
    assert (anonymous.segment, anonymous.country) == ("", "")
    events = list(anonymous.events.values_list("type", "value", "review", "session"))
    assert sorted(events) == [("review", 5.0, "", ""), ("view", None, "", "")]
    assert SearchLog.objects.get().shopper == anonymous
    assert hooks[0][1] == "anonymise" and hooks[0][2] == anonymous


def test_forget_is_one_transaction(alice, monkeypatch):
    def broken(ctx):
        raise RuntimeError("experiments down")

    monkeypatch.setattr(privacy, "FORGET_HOOKS", [broken])
    with pytest.raises(RuntimeError):
        shopper_forget(external_id="alice", mode="delete")
    assert Shopper.objects.filter(external_id="alice").exists() and Event.objects.count() == 3


def test_export_writes_everything_held(alice, hooks, run_command, tmp_path):
    out = tmp_path / "alice.json"
    result = run_command("shopper_export", "alice", "--output", str(out))
    assert result.code == 0
    data = json.loads(out.read_text())
    assert data["shopper"]["segment"] == "premium"
    assert {e["type"] for e in data["events"]} == {"review", "view"}
    assert data["searches"][0]["session"] == "sess-a"
    assert data["experiments"] == [{"experiment": "x", "shopper": "alice"}]
    assert AuditLog.objects.filter(action="shopper.export").exists()
    assert run_command("shopper_export", "nobody").code != 0
