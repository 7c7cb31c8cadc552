"""The analytics pages' date range (plain Python): presets end with the current hour, a custom
range is whole UTC days with both ends included, and anything else is refused in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from recommend.analytics.logic.date_range import CUSTOM, RangeError, parse

NOW = datetime(2026, 12, 6, 12, 34, tzinfo=UTC)


def test_presets_end_with_the_current_hour_and_7_days_is_the_default():
    for key, hours in (("24h", 24), ("7d", 168), ("30d", 720)):
        rng = parse({"range": key}, NOW)
        assert rng.end == datetime(2026, 12, 6, 13, tzinfo=UTC)
        assert rng.end - rng.start == timedelta(hours=hours)
        assert rng.query() == {"range": key}
    assert parse({}, NOW).key == "7d"
    assert parse({"range": "24h"}, NOW).bucket() == "hour"
    assert parse({"range": "30d"}, NOW).bucket() == "day"


def test_a_custom_range_is_whole_days_both_included():
    rng = parse({"from": "2026-12-01", "to": "2026-12-03"}, NOW)
    assert rng.key == CUSTOM
    assert (rng.start, rng.end) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 4, tzinfo=UTC),
    )
    assert rng.query() == {"range": "custom", "from": "2026-12-01", "to": "2026-12-03"}
    assert parse({"range": "custom", "from": "2026-12-06", "to": "2026-12-06"}, NOW).day_to == (
        date(2026, 12, 6)
    )


@pytest.mark.parametrize(
    "params, words",
    [
        ({"range": "1y"}, "Unknown range"),
        ({"range": "custom"}, "'from' is empty"),
        ({"range": "custom", "from": "2026-12-01"}, "'to' is empty"),
        ({"from": "01/12/2026", "to": "2026-12-02"}, "YYYY-MM-DD"),
        ({"from": "2026-12-03", "to": "2026-12-02"}, "is after 'to'"),
        ({"from": "2026-12-07", "to": "2026-12-08"}, "in the future"),
        ({"from": "2024-01-01", "to": "2026-12-01"}, "at most 366"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(params, words):
    with pytest.raises(RangeError, match=words):
        parse(params, NOW)
