"""The campaign's admin page: impressions, CTR, conversions and the uplift of treated vs the
held-out control with its confidence interval; the campaign list with filters and search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from recommend.analytics import services as analytics_services
from recommend.promotions.models import Campaign, CampaignServe
from recommend.promotions.selectors import campaign_report
from tests.factories.catalog import EventFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_campaign(storefront, serving_store):
    """40 known shoppers asked for a promotion (half held out); every treated shopper clicks
    and buys what was shown, and one control shopper in four buys a campaign product anyway."""
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="Autumn picks",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        status=Campaign.Status.RUNNING,
        control_percent=50.0,
    )
    campaign.products.set([serving_store.products[p] for p in ("hp-4", "kt-2", "sh-3")])
    control_seen = 0
    for i in range(40):
        shopper = ShopperFactory(external_id=f"p-{i}")
        body = storefront.get("/api/v1/promotions", {"shopper": shopper.external_id}).json()
        later = timezone.now() + timedelta(minutes=5)
        if body["arm"] == "treated":
            product = Product.objects.get(external_id=body["promotion"]["product"]["id"])
            for kind in ("click", "purchase"):
                EventFactory(
                    shopper=shopper,
                    product=product,
                    type=kind,
                    request_id=body["request_id"],
                    timestamp=later,
                )
        else:
            control_seen += 1
            if control_seen % 4 == 0:
                EventFactory(
                    shopper=shopper,
                    product=serving_store.products["kt-2"],
                    type="purchase",
                    timestamp=later,
                )
    analytics_services.served_flush()  # the served-request log the attribution reads
    return campaign


def test_the_campaign_page_shows_uplift_against_the_control(client, operator_user, served_campaign):
    treated = CampaignServe.objects.filter(campaign=served_campaign, arm="treated").count()
    control = CampaignServe.objects.filter(campaign=served_campaign, arm="control").count()
    assert treated and control
    report = campaign_report(served_campaign)
    assert report.arms["treated"].impressions == treated
    assert report.arms["treated"].clicks == treated  # attributed through the request id
    assert report.arms["treated"].converted == treated
    assert report.arms["control"].converted == control // 4
    assert report.purchases == treated
    assert report.uplift is not None and report.uplift.abs_ci_low > 0  # clearly better
    client.force_login(operator_user)
    url = reverse("admin:promotions_campaign_report", args=[served_campaign.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Uplift of treated vs held-out control" in html
    assert "significant" in html and "95% CI" in html
    assert f"<td>{treated}</td>" in html and "100.00%" in html  # CTR and conversion of treated
    listing = client.get(
        reverse("admin:promotions_campaign_changelist"), {"q": "autumn", "status__exact": "running"}
    )
    assert listing.status_code == 200 and url in listing.content.decode()


def test_a_campaign_without_control_shoppers_says_there_is_no_uplift_yet(
    client, operator_user, serving_store
):
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="Quiet", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    client.force_login(operator_user)
    page = client.get(reverse("admin:promotions_campaign_report", args=[campaign.pk]))
    assert page.status_code == 200 and "No uplift yet" in page.content.decode()
