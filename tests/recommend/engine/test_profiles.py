"""Decayed shopper profile vectors and category interests."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recommend.engine.profiles import category_interests, decay_weights, decayed_profile

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_decay_halves_per_half_life_and_clamps_future_events():
    stamps = [NOW, NOW - timedelta(days=14), NOW - timedelta(days=28), NOW + timedelta(hours=3)]
    weights = decay_weights(stamps, [1, 1, "purchase", 1], NOW, half_life_days=14)
    assert weights == pytest.approx([1.0, 0.5, 8 * 0.25, 1.0])


def test_profile_leans_towards_stronger_and_newer_engagement():
    vectors = np.array([[1.0, 0.0], [0.0, 10.0]])  # lengths do not matter
    viewed_vs_bought = decayed_profile(vectors, [NOW, NOW], ["view", "purchase"], NOW)
    assert viewed_vs_bought == pytest.approx(np.array([1, 8]) / np.hypot(1, 8))
    old_vs_new = decayed_profile(vectors, [NOW - timedelta(days=70), NOW], [1.0, 1.0], NOW, 14)
    assert old_vs_new[1] > 0.99
    assert np.linalg.norm(old_vs_new) == pytest.approx(1.0)


def test_profile_accepts_epoch_seconds_and_degenerate_input():
    now = NOW.timestamp()
    profile = decayed_profile(np.array([[3.0, 4.0]]), [now - 3600], [2.0], now)
    assert profile == pytest.approx([0.6, 0.8])
    assert decayed_profile(np.zeros((0, 4)), [], [], NOW).tolist() == [0.0] * 4
    cancel = decayed_profile(np.array([[1.0, 0], [-1.0, 0]]), [NOW, NOW], [1, 1], NOW)
    assert cancel.tolist() == [0.0, 0.0]


def test_profile_rejects_naive_datetimes_and_unknown_events():
    with pytest.raises(ValueError, match="naive"):
        decayed_profile(np.ones((1, 2)), [datetime(2025, 1, 1)], [1.0], NOW)
    with pytest.raises(ValueError, match="unknown event type"):
        decayed_profile(np.ones((1, 2)), [NOW], ["wishlist"], NOW)


def test_category_interests_are_shares_largest_first():
    cats = ["shoes", "shoes", "bags", None, "hats"]
    stamps = [NOW, NOW - timedelta(days=30), NOW, NOW, NOW - timedelta(days=300)]
    interests = category_interests(
        cats, stamps, ["view", "view", "purchase", "purchase", "view"], NOW
    )
    assert list(interests) == ["bags", "shoes", "hats"]
    assert sum(interests.values()) == pytest.approx(1.0)
    assert interests["bags"] / interests["shoes"] == pytest.approx(8 / 1.5)
    top = category_interests(cats, stamps, [1, 1, 1, 1, 1], NOW, top_n=1)
    assert top == {"shoes": 1.0}
    assert category_interests([], [], [], NOW) == {}
