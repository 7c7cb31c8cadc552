"""The report page in the admin: counts, examples linked to what they name, fix buttons for
those allowed to fix, and the fixes themselves (audited, nothing deleted)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Product, Shopper
from catalog.services.quality import quality_report_run

pytestmark = pytest.mark.django_db


def test_operator_reads_the_report_and_applies_its_fixes(client, planted_store, operator_user):
    report = quality_report_run()
    client.force_login(operator_user)
    page = client.get(reverse("admin:catalog_dataqualityreport_change", args=[report.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bot-like shoppers" in html and "crawler-9" in html
    assert reverse("admin:catalog_shopper_change", args=[planted_store.bot]) in html
    assert reverse("admin:catalog_product_change", args=[planted_store.outlier]) in html
    assert reverse("admin:catalog_category_change", args=[planted_store.orphan]) in html
    assert "Merge this group" in html and "Exclude these shoppers from training" in html

    fix_url = reverse("admin:catalog_dataqualityreport_fix", args=[report.pk])
    assert client.post(fix_url, {"check": "bot_shoppers"}).status_code == 302
    assert Shopper.objects.get(pk=planted_store.bot).exclude_from_training
    assert client.post(fix_url, {"check": "duplicate_titles", "group": "0"}).status_code == 302
    a, b = planted_store.duplicates
    assert Product.objects.filter(pk__in=[a, b], active=True).count() == 1
    assert Product.objects.filter(pk__in=[a, b]).count() == 2  # nothing deleted

    listing = client.get(reverse("admin:catalog_dataqualityreport_changelist"))
    assert listing.status_code == 200 and "bot shoppers 1" in listing.content.decode()
    flagged = client.get(
        reverse("admin:catalog_shopper_changelist") + "?exclude_from_training__exact=1"
    )
    assert "crawler-9" in flagged.content.decode()


def test_analyst_sees_the_report_without_fix_buttons_and_cannot_fix(
    client, planted_store, analyst_user
):
    report = quality_report_run()
    client.force_login(analyst_user)
    page = client.get(reverse("admin:catalog_dataqualityreport_change", args=[report.pk]))
    assert page.status_code == 200 and "Merge this group" not in page.content.decode()
    fix_url = reverse("admin:catalog_dataqualityreport_fix", args=[report.pk])
    assert client.post(fix_url, {"check": "bot_shoppers"}).status_code == 403
    assert not Shopper.objects.get(pk=planted_store.bot).exclude_from_training
