"""The demo store's planted sentiment spike, end to end: ``score_reviews`` (no sentiment model
active, so the rating stands in) labels the reviews, the spike test finds the planted product
on the planted day, and the alert registry opens an alert for it and for no other product that
week. Also: the watermark, forget and export."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from catalog.demo.generator import DEFAULT_END
from catalog.models import Event, Product
from catalog.services.demo import demo_store_build
from catalog.services.privacy import shopper_export, shopper_forget
from platform_core import alerts
from platform_core.models import Alert
from recommend.insights.models import (
    ReviewSentiment,
    SentimentDaily,
    SentimentPhrase,
    SentimentSpike,
    SentimentState,
)
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

# the demo generator's seed; a small store (the planting's burst does not depend on the size)
STORE = {"products": 300, "shoppers": 150, "days": 30, "seed": 42}


@pytest.fixture
def planted(tmp_path):
    """The small demo store ending at the generator's default end (no load-time shift), and
    the planting's truth as written beside the other truth files."""
    result = demo_store_build(**STORE, end=DEFAULT_END, truth_dir=tmp_path)
    return json.loads(result.truth_files["sentiment_spike"].read_text())


def score_reviews(**params) -> Job:
    job = services.job_run(job_id=services.job_launch(kind="score_reviews", params=params).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def test_the_planted_spike_alerts_on_its_product_and_day_and_nothing_else_that_week(planted):
    day = date.fromisoformat(planted["day"])
    end = DEFAULT_END.date()
    job = score_reviews(as_of=(end - timedelta(days=1)).isoformat())
    reviews = Event.objects.filter(type="review").exclude(review="").count()
    assert job.metrics["reviews_scored"] == reviews == ReviewSentiment.objects.count()
    assert job.metrics["no_model"] is True and job.metrics["source"] == "rating"
    assert "No sentiment model is active" in job.log

    product = Product.objects.get(external_id=planted["product"])
    week = {"day__gte": end - timedelta(days=7), "day__lt": end}
    spiked = SentimentSpike.objects.filter(level="product", **week)
    assert {(s.key, s.day) for s in spiked}.issuperset({(product.pk, day)})
    assert set(spiked.values_list("key", flat=True)) == {product.pk}
    assert spiked.order_by("day").first().day == day  # the first spike is the planted day

    now = datetime.combine(end, datetime.min.time(), tzinfo=DEFAULT_END.tzinfo)
    report = alerts.alerts_evaluate(now=now)
    assert not report.failed
    opened = Alert.objects.filter(rule__name="sentiment_spike")
    products = [a for a in opened if a.subject.startswith("product:")]
    assert [a.subject for a in products] == [f"product:{planted['product']}"]
    assert f"spiked on {planted['day']}" in products[0].message
    # the rest are the product's own brand and category (its reviews are theirs), if any
    allowed = {f"category:{product.category.external_id}", f"brand:{product.brand.name}", "store"}
    assert {a.subject for a in opened} - {products[0].subject} <= allowed

    # the planted defect is among the product's top rising negative phrases (this small store
    # has almost no earlier complaints to tell usual words from new ones)
    top = SentimentPhrase.objects.filter(product=product).order_by("-score")[:5]
    assert planted["defect_phrase"] in {p.phrase for p in top}

    # incremental: a second run scores nothing new and changes nothing
    daily = list(SentimentDaily.objects.order_by("level", "key", "day").values_list())
    again = score_reviews(as_of=(end - timedelta(days=1)).isoformat())
    assert again.metrics["reviews_scored"] == 0
    assert list(SentimentDaily.objects.order_by("level", "key", "day").values_list()) == daily
    assert SentimentState.objects.get().last_event_id == max(
        ReviewSentiment.objects.values_list("event_id", flat=True)
    )


def test_forget_removes_the_shoppers_review_labels_and_export_lists_them(planted, settings):
    score_reviews(as_of=(DEFAULT_END.date() - timedelta(days=1)).isoformat())
    label = ReviewSentiment.objects.select_related("event__shopper").first()
    shopper = label.event.shopper
    mine = ReviewSentiment.objects.filter(event__shopper=shopper)
    count = mine.count()
    assert count >= 1

    exported = shopper_export(external_id=shopper.external_id)
    assert len(exported["review_sentiment"]) == count
    assert exported["review_sentiment"][0]["label"] in ("negative", "neutral", "positive")

    settings.SHOPPER_FORGET_MODE = "delete"
    counts = shopper_forget(external_id=shopper.external_id)
    assert counts["review_sentiment"] == count
    assert not ReviewSentiment.objects.filter(event__shopper__external_id=shopper.external_id)
    assert not ReviewSentiment.objects.filter(pk=label.pk).exists()
