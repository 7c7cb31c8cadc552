"""Weak intent labels from what the session did after a search (plain Python, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from training.classifier_labels import sentiment_from_rating
from training.ml.weak_labels import SessionEvent, label_after, search_outcomes, weak_intent_labels

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def ev(session, kind, minutes, query=None):
    return SessionEvent(
        session=session, type=kind, query=query, timestamp=T0 + timedelta(minutes=minutes)
    )


def test_label_after_prefers_buy_then_review_then_browse():
    assert label_after(["view", "click", "add_to_cart"]) == "buy"
    assert label_after(["view", "purchase", "review"]) == "buy"
    assert label_after(["click", "rating"]) == "review"
    assert label_after(["view", "click"]) == "browse"
    assert label_after([]) is None


def test_each_search_looks_only_until_the_next_search_and_within_the_window():
    events = [
        ev("s1", "search", 0, "Running  Shoes"),
        ev("s1", "click", 1),
        ev("s1", "search", 2, "trail shoes"),
        ev("s1", "add_to_cart", 3),
        ev("s2", "search", 0, "tent"),
        ev("s2", "purchase", 45),  # 45 minutes later: outside the 30-minute window
        ev("s3", "search", 0, "lamp"),  # nothing followed: no label
    ]
    assert search_outcomes(events) == [("running shoes", "browse"), ("trail shoes", "buy")]


def test_a_query_gets_the_majority_label_of_its_sessions_ties_to_the_stronger_signal():
    events = []
    for n, follow in enumerate(["click", "click", "purchase"]):
        events += [ev(f"a{n}", "search", 0, "desk lamp"), ev(f"a{n}", follow, 1)]
    for n, follow in enumerate(["click", "add_to_cart"]):
        events += [ev(f"b{n}", "search", 0, "yoga mat"), ev(f"b{n}", follow, 1)]
    assert weak_intent_labels(events) == {"desk lamp": "browse", "yoga mat": "buy"}


def test_sentiment_from_rating():
    assert [sentiment_from_rating(r) for r in (1, 2, 3, 4, 5)] == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]
    assert sentiment_from_rating(None) is None and sentiment_from_rating(0) is None
