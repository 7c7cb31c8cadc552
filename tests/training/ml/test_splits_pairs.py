"""training.ml.splits and training.ml.pairs: disjoint reproducible splits, hand-made sessions."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from training.ml.pairs import (
    EventRow,
    HardNegative,
    QueryPair,
    hard_negatives,
    mine_query_pairs,
    normalize_query,
)
from training.ml.splits import split_by_key, split_by_time


def _items():
    # 1000 items over 200 keys (e.g. queries), 5 items per key.
    return [{"id": i, "query": f"query {i % 200}"} for i in range(1000)]


def _ids(split):
    return {name: {item["id"] for item in part} for name, part in split.parts().items()}


def test_split_by_key_keeps_keys_in_one_split():
    split = split_by_key(_items(), key_fn=lambda item: item["query"], seed=7)
    keys = {name: {item["query"] for item in part} for name, part in split.parts().items()}
    assert not keys["train"] & keys["valid"]
    assert not keys["train"] & keys["test"]
    assert not keys["valid"] & keys["test"]
    assert sum(len(part) for part in split.parts().values()) == 1000
    assert split.keys["test"] == keys["test"]
    # Shares follow 70/15/15 on average (200 keys: loose bounds).
    assert 0.6 < len(keys["train"]) / 200 < 0.8
    assert 0.07 < len(keys["valid"]) / 200 < 0.23


def test_split_by_key_is_stable_under_shuffling_and_seeded():
    items = _items()
    first = split_by_key(items, key_fn=lambda item: item["query"], seed=7)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    again = split_by_key(shuffled, key_fn=lambda item: item["query"], seed=7)
    assert _ids(first) == _ids(again)
    other_seed = split_by_key(items, key_fn=lambda item: item["query"], seed=8)
    assert _ids(other_seed) != _ids(first)
    # A key keeps its split when more data arrives (assignment depends on key + seed only).
    grown = split_by_key(items + [{"id": 5000, "query": "new"}], lambda i: i["query"], seed=7)
    assert {n: ids - {5000} for n, ids in _ids(grown).items()} == _ids(first)


def test_split_summary_is_json_and_describes_the_snapshot():
    split = split_by_key(_items(), key_fn=lambda item: item["query"], seed=3)
    summary = split.summary(id_fn=lambda item: item["id"])
    json.dumps(summary)
    assert summary["method"] == "key" and summary["seed"] == 3
    assert summary["ratios"] == [0.7, 0.15, 0.15]
    assert sum(summary["counts"].values()) == 1000
    assert sum(summary["key_counts"].values()) == 200
    hashes = summary["key_hashes"]
    assert not set(hashes["train"]) & set(hashes["test"])
    assert set(summary["ids"]["valid"]) == _ids(split)["valid"]
    with pytest.raises(ValueError):
        split_by_key(_items(), lambda item: item["id"], seed=1, ratios=(0.5, 0.2, 0.2))


def test_split_by_time_orders_and_keeps_ties_together():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # 20 items one hour apart, except items 13 and 14 share a timestamp (the 70 % boundary
    # falls between them: it moves past both).
    times = [start + timedelta(hours=i) for i in range(20)]
    times[14] = times[13]
    items = [{"id": i, "at": t} for i, t in enumerate(times)]
    shuffled = items[:]
    random.Random(5).shuffle(shuffled)
    split = split_by_time(shuffled, time_fn=lambda item: item["at"])
    # Tied items keep their input order, so compare sets.
    assert {item["id"] for item in split.train} == set(range(15))
    assert [item["id"] for item in split.valid] == [15, 16]
    assert [item["id"] for item in split.test] == [17, 18, 19]
    assert max(i["at"] for i in split.train) < min(i["at"] for i in split.valid)
    summary = split.summary()
    json.dumps(summary)
    assert summary["boundaries"]["test_from"] == times[17].isoformat()
    assert summary["counts"] == {"train": 15, "valid": 2, "test": 3}


def test_normalize_query():
    assert normalize_query("  Red \t SHOES\n") == "red shoes"
    assert normalize_query("Straße") == "strasse"
    assert normalize_query(None) == ""


def _session_events():
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    def at(minutes):
        return t0 + timedelta(minutes=minutes)

    def ev(shopper, session, type_, product, query, minutes, request_id=None):
        return EventRow(shopper, session, type_, product, query, at(minutes), None, request_id)

    return [
        # Session s1: search, then click -> cart -> purchase of p1 (one journey, weight 3).
        ev("u1", "s1", "search", None, "  Red  SHOES ", 0, "r1"),
        ev("u1", "s1", "click", "p1", None, 2),
        ev("u1", "s1", "add_to_cart", "p1", None, 5),
        ev("u1", "s1", "purchase", "p1", None, 6),
        # A later search; a click 40 minutes after it is outside the 30-minute window.
        ev("u1", "s1", "search", None, "boots", 10),
        ev("u1", "s1", "click", "p2", None, 50),
        # A click naming the first search's request id goes to that search, window or not.
        ev("u1", "s1", "click", "p3", None, 51, "r1"),
        # A click carrying its own query counts directly.
        ev("u1", "s1", "click", "p4", "Sandals", 52),
        # Session s2: same query and product -> adds weight 1 and a second journey.
        ev("u2", "s2", "search", None, "red shoes", 60),
        ev("u2", "s2", "click", "p1", None, 61),
        ev("u2", "s2", "view", "p5", None, 62),  # a view is not engagement
        # No session or shopper: only a click with its own query counts.
        ev(None, None, "click", "p6", "boots", 70),
        ev(None, None, "click", "p7", None, 71),
    ]


def test_mine_query_pairs_hand_session():
    expected = [
        QueryPair("red shoes", "p1", weight=4.0, count=2),  # 3 (s1 purchase) + 1 (s2 click)
        QueryPair("boots", "p6", weight=1.0, count=1),
        QueryPair("red shoes", "p3", weight=1.0, count=1),
        QueryPair("sandals", "p4", weight=1.0, count=1),
    ]
    events = _session_events()
    assert mine_query_pairs(events) == expected
    shuffled = events[:]
    random.Random(2).shuffle(shuffled)
    assert mine_query_pairs(shuffled) == expected
    # A longer window credits the late click on p2 to "boots".
    wide = mine_query_pairs(events, window=timedelta(hours=1))
    assert QueryPair("boots", "p2", 1.0, 1) in wide


def test_search_and_click_at_the_same_instant():
    t = datetime(2026, 3, 1, tzinfo=UTC)
    events = [
        EventRow("u", "s", "click", "p1", None, t),
        EventRow("u", "s", "search", None, "lamp", t),
    ]
    assert mine_query_pairs(events) == [QueryPair("lamp", "p1", 1.0, 1)]


def test_hard_negatives_skip_positives_and_rotate():
    pairs = mine_query_pairs(_session_events())
    shown = {"Red Shoes": ["p1", "p7", "p8", "p7"], "boots": ["p6"]}
    assert hard_negatives(pairs, shown) == [
        HardNegative("red shoes", "p1", "p7"),  # p1 and p3 are positives for "red shoes"
        HardNegative("red shoes", "p3", "p8"),
    ]
    assert len(hard_negatives(pairs, shown, per_pair=2)) == 4
