"""Insights → Review sentiment pages: they show what ``score_reviews`` computed (the scorer in
words, the spike, the rising phrase, the series), read only the sentiment tables in a fixed
number of queries, and open for analysts and operators only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Event, EventType
from platform_core.roles import sync_role_permissions
from recommend.insights.services.sentiment import ScoreSettings, rating_scorer, reviews_score
from tests.factories import ProductFactory, ShopperFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 10, 28)
PAGES = ("trend", "worst", "phrases")


@pytest.fixture
def scored():
    """Two products reviewed for 20 days; on DAY one of them gets 12 one-star reviews that
    name a defect. Scored with the rating proxy (no sentiment model)."""
    calm, broken = ProductFactory(title="Calm kettle"), ProductFactory(title="Broken kettle")
    shopper = ShopperFactory()
    rows, n = [], 0

    def review(product, day, rating, text):
        nonlocal n
        n += 1
        rows.append(
            Event(
                event_id=f"r-{n}",
                shopper=shopper,
                product=product,
                type=EventType.REVIEW,
                value=float(rating),
                review=text,
                timestamp=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            )
        )

    for back in range(1, 21):
        for product in (calm, broken):
            review(product, DAY - timedelta(days=back), 5, "Lovely kettle, boils fast.")
            review(product, DAY - timedelta(days=back), 2, "Too loud for me.")
            review(product, DAY - timedelta(days=back), 4, "Good value, boils fast.")
    for _ in range(12):
        review(broken, DAY, 1, "The handle broke off on day one. Too loud.")
    review(broken, DAY, 5, "Lovely kettle.")
    Event.objects.bulk_create(rows)
    reviews_score(
        scorer=rating_scorer,
        source="rating",
        model_version_id=None,
        settings=ScoreSettings(as_of=DAY),
    )
    return broken


def _client(role: str) -> Client:
    sync_role_permissions()
    client = Client()
    client.force_login(UserFactory(username=f"sent-{role}", role=role))
    return client


def test_the_pages_show_the_spike_the_phrase_and_the_fallback_scorer(scored):
    client = _client("analyst")
    worst = client.get(reverse("admin:insights_sentiment_worst"))
    assert worst.status_code == 200
    html = worst.content.decode()
    assert "No sentiment model is active" in html  # the rating proxy is said in words
    spikes = html[html.index('id="sentiment-spikes"') : html.index('id="sentiment-worst"')]
    assert "2026-10-28" in spikes and "Broken kettle" in spikes and "Calm kettle" not in spikes
    table = html[html.index('id="sentiment-worst"') :]
    assert table.index("Broken kettle") < table.index("Calm kettle")  # the worst first

    phrases = client.get(reverse("admin:insights_sentiment_phrases")).content.decode()
    assert "handle broke" in phrases and "Broken kettle" in phrases
    assert "“too loud”" not in phrases  # as common in its earlier reviews

    trend = client.get(
        reverse("admin:insights_sentiment_trend"), {"level": "product", "key": scored.pk}
    )
    body = trend.content.decode()
    assert trend.status_code == 200 and "<svg" in body and "Broken kettle" in body
    assert '<th scope="row">2026-10-28</th><td>13</td><td>12</td><td>92%</td>' in body


def test_the_pages_read_only_the_sentiment_tables_in_a_few_queries(scored):
    client = _client("operator")
    for slug in PAGES:
        for params in ({}, {"level": "brand"}, {"level": "category"}):
            with CaptureQueriesContext(connection) as queries:
                assert (
                    client.get(reverse(f"admin:insights_sentiment_{slug}"), params).status_code
                    == 200
                )
            sql = " ".join(q["sql"] for q in queries.captured_queries)
            assert "catalog_event" not in sql, slug
            assert len(queries.captured_queries) <= 16, (slug, len(queries.captured_queries))


def test_learners_may_not_open_them(scored):
    client = _client("learner")
    for slug in PAGES:
        assert client.get(reverse(f"admin:insights_sentiment_{slug}")).status_code in (302, 403)


def test_a_store_never_scored_says_so():
    page = _client("analyst").get(reverse("admin:insights_sentiment_worst"))
    assert page.status_code == 200 and "No review has been scored yet" in page.content.decode()
