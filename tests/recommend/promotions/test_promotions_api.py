"""``GET /api/v1/promotions``: the campaign product that fits the shopper, the held-out control,
opted-out and forgotten shoppers, the window and the budget, errors as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from catalog.models import Shopper
from catalog.services.privacy import shopper_forget
from recommend import services as recommend_services
from recommend.promotions.logic.pick import arm_of
from recommend.promotions.models import Campaign, CampaignServe
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def events(shopper, store, items, *, start=T0):
    for n, (product, kind) in enumerate(items):
        EventFactory(
            shopper=shopper,
            product=store.products[product],
            type=kind,
            timestamp=start + timedelta(minutes=n),
        )
    Shopper.objects.filter(pk=shopper.pk).update(
        profile_version=shopper.profile_version + len(items)
    )
    recommend_services.shopper_profiles_refresh(shopper_ids=[shopper.pk])


@pytest.fixture
def popular(serving_store):
    """The espresso machine trends store-wide."""
    for i in range(5):
        crowd = ShopperFactory(external_id=f"crowd-{i}")
        events(crowd, serving_store, [("kt-1", "view"), ("sh-1", "view")], start=T0)
    recommend_services.aggregates_refresh()
    return serving_store


def campaign(store, products=("hp-4", "kt-1", "sh-2"), **kwargs) -> Campaign:
    now = timezone.now()
    fields = {
        "name": "Autumn picks",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=1),
        "status": Campaign.Status.RUNNING,
        "control_percent": 0.0,
        **kwargs,
    }
    row = Campaign.objects.create(**fields)
    row.products.set([store.products[p] for p in products])
    return row


def promo(client, **params):
    response = client.get("/api/v1/promotions", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_campaign_product_that_fits_the_shopper(storefront, popular):
    campaign(popular)
    fan = ShopperFactory(external_id="headphone-fan")
    events(fan, popular, [("hp-1", "view"), ("hp-2", "view"), ("hp-2", "add_to_cart")])
    runner = ShopperFactory(external_id="runner")
    events(runner, popular, [("sh-1", "view"), ("sh-3", "view"), ("sh-1", "add_to_cart")])

    body = promo(storefront, shopper="headphone-fan", slot="home")
    assert body["reason"] == "served" and body["arm"] == "treated"
    assert body["promotion"]["product"]["id"] == "hp-4"
    assert body["promotion"]["personalised"] is True
    assert body["promotion"]["copy"]["line"].startswith("Pixelon kids headphones")
    assert body["promotion"]["copy"]["source"] == "product"
    assert promo(storefront, shopper="runner")["promotion"]["product"]["id"] == "sh-2"
    # an unknown shopper: the campaign's most popular product, not personalised
    unknown = promo(storefront, shopper="never-seen")
    assert unknown["promotion"]["product"]["id"] == "kt-1"
    assert unknown["promotion"]["personalised"] is False
    # every answer is logged with its request id, and each spent one impression
    serve = CampaignServe.objects.get(request_id=body["request_id"])
    assert (serve.arm, serve.product.external_id) == ("treated", "hp-4")
    assert Campaign.objects.get().impressions == 3


def test_held_out_control_shoppers_get_no_promotion(storefront, popular):
    row = campaign(popular, control_percent=50.0)
    arms = {}
    for i in range(24):
        body = promo(storefront, shopper=f"s-{i}")
        arms[f"s-{i}"] = body["arm"]
        expected = arm_of(row.salt, f"s-{i}", 50.0)
        assert body["arm"] == expected
        if expected == "control":
            assert body["promotion"] is None and body["reason"] == "control"
            assert body["campaign"]["id"] == row.pk
        else:
            assert body["promotion"]["campaign"]["id"] == row.pk
    assert set(arms.values()) == {"treated", "control"}
    # sticky: the same shopper keeps their arm
    assert all(promo(storefront, shopper=s)["arm"] == arm for s, arm in list(arms.items())[:6])
    treated = sum(1 for a in arms.values() if a == "treated")
    row.refresh_from_db()
    assert row.impressions == treated + sum(1 for a in list(arms.values())[:6] if a == "treated")
    assert CampaignServe.objects.filter(arm="control", product__isnull=True).count() >= 1


def test_opted_out_and_forgotten_shoppers_get_no_promotion(storefront, popular):
    campaign(popular)
    ShopperFactory(external_id="private", promotions_opt_out=True)
    body = promo(storefront, shopper="private")
    assert (body["promotion"], body["reason"]) == (None, "opted_out")
    gone = ShopperFactory(external_id="gone")
    events(gone, popular, [("hp-1", "view")])
    assert promo(storefront, shopper="gone")["promotion"] is not None
    shopper_forget(external_id="gone", mode="delete")
    body = promo(storefront, shopper="gone")
    assert (body["promotion"], body["reason"]) == (None, "forgotten")
    assert not CampaignServe.objects.filter(shopper_external_id__in=["private", "gone"]).exists()


def test_campaigns_outside_their_window_or_budget_serve_nothing(storefront, popular):
    now = timezone.now()
    campaign(
        popular, name="later", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    campaign(
        popular, name="over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1)
    )
    campaign(popular, name="draft", status=Campaign.Status.DRAFT)
    campaign(popular, name="other slot", slot="checkout")
    assert promo(storefront, shopper="a", slot="home")["reason"] == "no_campaign"
    campaign(popular, name="small", impression_budget=2)
    assert promo(storefront, shopper="a", slot="home")["promotion"] is not None
    assert promo(storefront, shopper="b", slot="home")["promotion"] is not None
    spent = promo(storefront, shopper="c", slot="home")
    assert (spent["promotion"], spent["reason"]) == (None, "no_campaign")
    assert Campaign.objects.get(name="small").impressions == 2
    # the slot's own campaign serves there
    assert promo(storefront, shopper="c", slot="checkout")["promotion"]["campaign"]["name"] == (
        "other slot"
    )


def test_errors_are_json(client, storefront, read_client, popular):
    bad = storefront.get("/api/v1/promotions", {"slot": "s" * 65})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["slot"]
    anonymous = client.get("/api/v1/promotions")
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert read_client.get("/api/v1/promotions").status_code == 200


def test_a_shopper_sees_the_line_approved_for_their_segment(storefront, popular, operator_user):
    from catalog.copywriting.models import CopyDraft, DraftStatus
    from recommend.insights.models import Segment, ShopperInsight

    campaign(popular)
    audio = Segment.objects.create(
        label=0,
        name="Audio",
        size=2,
        conversion_rate=0.1,
        top_categories=[["Headphones", 0.6, 2.0]],
        silhouette=0.2,
        computed_at=timezone.now(),
    )
    for name in ("fan-in-segment", "fan-without"):
        fan = ShopperFactory(external_id=name)
        events(fan, popular, [("hp-1", "view"), ("hp-2", "view"), ("hp-2", "add_to_cart")])
    ShopperInsight.objects.create(
        shopper=Shopper.objects.get(external_id="fan-in-segment"),
        segment=audio,
        computed_at=timezone.now(),
    )
    line = CopyDraft.objects.create(
        product=popular.products["hp-4"],
        segment="Audio",
        text="From the headphones range you return to: Pixelon kids headphones.",
        drafter="template-extractive",
        passes_checks=True,
        status=DraftStatus.APPROVED,
        reviewed_at=timezone.now(),
    )
    CopyDraft.objects.create(  # pending lines are not shown
        product=popular.products["hp-4"], segment="Audio", text="Pending.", drafter="x"
    )

    body = promo(storefront, shopper="fan-in-segment")
    assert body["promotion"]["product"]["id"] == "hp-4"
    assert body["promotion"]["copy"] == {
        "title": body["promotion"]["product"]["title"],
        "line": line.text,
        "source": "approved_copy",
        "segment": "Audio",
        "copy_id": line.pk,
    }
    other = promo(storefront, shopper="fan-without")
    assert other["promotion"]["product"]["id"] == "hp-4"
    assert other["promotion"]["copy"]["source"] == "product"
