"""Promotion lines per shopper segment: the angle follows what the segments job measured
(not the segment's name), lines quote only the product's own facts and price, a line that
invents is marked; ``generate_copy`` with ``promotion_lines`` drafts one per (campaign product,
segment) and needs segments; approving a line publishes it without touching the description and
supersedes the segment's previous line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.copywriting import services as copy_services
from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    GuardrailSettings,
    ProductFacts,
)
from catalog.copywriting.logic.promo_lines import (
    PricedFacts,
    SegmentFacts,
    angle_for,
    draft_lines,
    template_line,
)
from catalog.copywriting.models import CopyDraft, DraftStatus
from catalog.models import Product
from recommend.insights.models import Segment
from recommend.promotions.models import Campaign
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory
from training import services
from training.models import Job

KETTLE = ProductFacts(
    1,
    "Brisa K1 Kettle",
    category="Kettles",
    brand="Brisa",
    attributes={"colour": "silver", "capacity": "1.7 l"},
)
ITEM = PricedFacts(KETTLE, 39.5, "EUR")
KITCHEN = SegmentFacts("Segment 1", (("Kettles", 0.4, 2.5),), 0.10, 0.08)
BARGAIN = SegmentFacts("Segment 2", (("Shoes", 0.5, 3.0), ("Kettles", 0.1, 0.6)), 0.03, 0.08)
BROWSERS = SegmentFacts("Segment 3", (("Shoes", 0.5, 3.0),), 0.12, 0.08)


def test_the_angle_follows_the_segments_figures_not_its_name():
    assert angle_for(KETTLE, KITCHEN) == "affinity"
    # leans to kettles less than the store does (lift < 1) and converts below the store
    assert angle_for(KETTLE, BARGAIN) == "value"
    assert angle_for(KETTLE, BROWSERS) == "discovery"
    renamed = SegmentFacts("Kettle lovers", BROWSERS.top_categories, 0.12, 0.08)
    assert angle_for(KETTLE, renamed) == "discovery"
    lines = {s.name: template_line(ITEM, s)[0] for s in (KITCHEN, BARGAIN, BROWSERS)}
    assert lines["Segment 1"].startswith("From the kettles range")
    assert lines["Segment 2"].startswith("Brisa K1 Kettle for 39.50 EUR")
    assert "colour silver" in lines["Segment 3"]
    # what the title already says is not repeated
    navy = ProductFacts(2, "Coast backpack navy", category="Bags", attributes={"color": "navy"})
    assert "color navy" not in template_line(PricedFacts(navy, 50.0, "EUR"), BROWSERS)[0]
    assert len(set(lines.values())) == 3


def test_lines_pass_the_guardrails_and_an_invented_price_is_marked():
    vocabulary = AttributeVocabulary.from_products([KETTLE])
    drafted = draft_lines(
        [ITEM], [KITCHEN, BARGAIN, BROWSERS], vocabulary=vocabulary, settings=GuardrailSettings()
    )
    assert [(d.product_id, d.segment) for d, _a, _c in drafted] == [
        (1, "Segment 1"),
        (1, "Segment 2"),
        (1, "Segment 3"),
    ]
    for _d, _angle, checks in drafted:
        assert all(c.ok for c in checks), checks
        assert {c.name for c in checks} == {"attributes", "banned_words", "length"}

    def wrong(prompts):
        return ["Brisa K1 Kettle in red for 19.99 EUR."] * len(prompts)

    [(draft, _angle, checks)] = draft_lines(
        [ITEM], [KITCHEN], vocabulary=vocabulary, settings=GuardrailSettings(), generate=wrong
    )
    [attributes] = [c for c in checks if c.name == "attributes"]
    assert not attributes.ok and "19.99" in attributes.detail and "red" in attributes.detail


@pytest.fixture
def store(db):
    kettles = CategoryFactory(name="Kettles")
    brand = BrandFactory(name="Brisa")
    products = [
        ProductFactory(
            title=f"Brisa K{i} Kettle",
            description="A kettle. " * 20,
            category=kettles,
            brand=brand,
            price=30 + i,
            attributes={"colour": "silver", "model": f"K{i}"},
        )
        for i in range(3)
    ]
    now = timezone.now()
    for label, (name, top, rate) in enumerate(
        [("Kitchen", [["Kettles", 0.5, 2.0]], 0.2), ("Other", [["Shoes", 0.6, 3.0]], 0.02)]
    ):
        Segment.objects.create(
            label=label,
            name=name,
            size=10,
            conversion_rate=rate,
            top_categories=top,
            silhouette=0.3,
            computed_at=now,
        )
    campaign = Campaign.objects.create(
        name="Kettle week",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=2),
        status=Campaign.Status.RUNNING,
    )
    campaign.products.set(products[:2])
    return products


def launch(user, **params):
    job = services.job_launch(kind="generate_copy", params=params, user=user)
    return services.job_run(job_id=job.pk)


def test_the_job_drafts_a_line_per_campaign_product_and_segment(store, operator_user):
    before = dict(Product.objects.values_list("pk", "description"))
    job = launch(operator_user, promotion_lines=True)
    assert job.status == Job.Status.SUCCEEDED, job.error
    drafts = CopyDraft.objects.order_by("product_id", "segment")
    assert [(d.product_id, d.segment) for d in drafts] == [
        (store[0].pk, "Kitchen"),
        (store[0].pk, "Other"),
        (store[1].pk, "Kitchen"),
        (store[1].pk, "Other"),
    ]
    assert all(d.passes_checks and d.status == DraftStatus.PENDING for d in drafts)
    assert job.metrics["angle_affinity"] == 2 and job.metrics["angle_value"] == 2
    assert dict(Product.objects.values_list("pk", "description")) == before


def test_without_segments_the_job_says_what_to_run_first(store, operator_user):
    Segment.objects.all().delete()
    job = launch(operator_user, promotion_lines=True)
    assert job.status == Job.Status.FAILED
    assert "shopper_segments" in job.error


def test_approving_a_line_publishes_it_alone_and_supersedes_the_last_one(store, operator_user):
    launch(operator_user, promotion_lines=True)
    description = store[0].description
    first = CopyDraft.objects.get(product=store[0], segment="Kitchen")
    copy_services.draft_approve(draft=first, actor=operator_user)
    store[0].refresh_from_db()
    assert store[0].description == description  # a line is not a description
    # a description draft and a line of the same product can wait side by side
    launch(operator_user, promotion_lines=True)
    launch(operator_user, products=store[0].external_id)
    pending = CopyDraft.objects.filter(product=store[0], status=DraftStatus.PENDING)
    assert sorted(pending.values_list("segment", flat=True)) == ["", "Kitchen", "Other"]
    second = pending.get(segment="Kitchen")
    assert second.current_text == first.text
    copy_services.draft_approve(draft=second, actor=operator_user)
    first.refresh_from_db()
    assert first.status == DraftStatus.SUPERSEDED
    assert CopyDraft.objects.get(pk=second.pk).status == DraftStatus.APPROVED


def test_the_queue_shows_lines_by_kind_and_a_line_page_approves_it(store, client, operator_user):
    from django.urls import reverse

    launch(operator_user, promotion_lines=True)
    launch(operator_user, products=store[2].external_id)  # one description draft
    client.force_login(operator_user)
    url = reverse("admin:copywriting_copydraft_changelist")
    lines = client.get(url, {"kind": "line"}).content.decode()
    assert lines.count("promotion line · segment") == 4 and "Kitchen" in lines
    descriptions = client.get(url, {"kind": "description"}).content.decode()
    assert "promotion line · segment" not in descriptions and store[2].title in descriptions
    line = CopyDraft.objects.get(product=store[0], segment="Kitchen")
    change = reverse("admin:copywriting_copydraft_change", args=[line.pk])
    page = client.get(change).content.decode()
    assert 'id="copy-segment">Kitchen<' in page and "Current line for this segment" in page
    response = client.post(change, {"text": line.text, "_approve": "1"}, follow=True)
    assert "/api/v1/promotions now shows this line" in response.content.decode()
    assert CopyDraft.objects.get(pk=line.pk).status == DraftStatus.APPROVED
