"""The attribution rule, in plain Python (no database): request id first, else the same
session's latest request within 30 minutes that showed the product, else an event-recorded
search click of the product."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recommend.analytics.logic.attribution import EventRef, Shown, attribute, position_of
from recommend.analytics.logic.histogram import BOUNDS_MS, bin_of, percentile

T = datetime(2026, 12, 1, 12, tzinfo=UTC)
EARLY = Shown("r-early", "s1", T - timedelta(minutes=20), (7, 8, 9))
LATE = Shown("r-late", "s1", T - timedelta(minutes=5), (9, 7))
OTHER_SESSION = Shown("r-other", "s2", T - timedelta(minutes=1), (7,))
OLD = Shown("r-old", "s1", T - timedelta(minutes=31), (5,))
SERVED = [EARLY, LATE, OTHER_SESSION, OLD]


def test_the_request_id_wins_over_a_later_request_of_the_session():
    event = EventRef(product_id=7, session="s1", timestamp=T, request_id="r-early")
    assert attribute(event, SERVED) is EARLY


def test_without_a_request_id_the_latest_request_of_the_session_that_showed_the_product():
    assert attribute(EventRef(7, "s1", T), SERVED) is LATE
    assert position_of(LATE, 7) == 2
    assert attribute(EventRef(8, "s1", T), SERVED) is EARLY  # only the early one showed 8


def test_an_unknown_request_id_falls_back_to_the_session_rule():
    assert attribute(EventRef(7, "s1", T, request_id="r-unknown"), SERVED) is LATE


def test_after_thirty_minutes_or_in_another_session_or_never_shown_it_belongs_to_none():
    assert attribute(EventRef(5, "s1", T), SERVED) is None  # shown 31 minutes before
    assert attribute(EventRef(5, "s1", T - timedelta(minutes=2)), SERVED) is OLD  # 29 minutes
    assert attribute(EventRef(7, "s3", T), SERVED) is None
    assert attribute(EventRef(42, "s1", T), SERVED) is None
    assert attribute(EventRef(7, "", T), SERVED) is None
    # a request served after the event cannot have caused it
    assert attribute(EventRef(7, "s2", T - timedelta(minutes=2)), SERVED) is None


def test_an_event_recorded_search_click_counts_only_when_no_served_request_showed_it():
    click = Shown("", "s1", T - timedelta(minutes=2), (8,))
    assert attribute(EventRef(8, "s1", T), [], [click]) is click
    assert attribute(EventRef(7, "s1", T), SERVED, [click]) is LATE


def test_percentiles_from_histogram_bins_are_within_five_percent():
    values = [1.0 + (i % 97) * 0.7 + (i % 13) * 3.1 for i in range(5000)]
    bins: dict[int, int] = {}
    for v in values:
        bins[bin_of(v)] = bins.get(bin_of(v), 0) + 1
    exact = sorted(values)
    for q in (0.5, 0.95):
        want = exact[int(q * len(exact)) - 1]
        assert abs(percentile(bins, q) - want) / want < 0.05
    assert percentile({}, 0.5) is None
    assert bin_of(BOUNDS_MS[0] / 2) == 0 and bin_of(1e9) == len(BOUNDS_MS)
