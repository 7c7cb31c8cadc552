"""A process's copy of the store-wide aggregates: an expired check runs beside the request that
meets it, and a miss it finds still asks for a refresh."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from recommend import aggregates
from recommend.aggregates import Aggregates
from recommend.serving import aggregates as serving_aggregates
from tests.waiting import wait_for


@pytest.fixture
def held():
    """Aggregates stored and held by this process; the check expires at every read."""

    def reset():
        aggregates._latest.clear()
        aggregates._missed = False
        cache.delete_many(
            [aggregates.BLOB_KEY, aggregates.STAMP_KEY, serving_aggregates.REFRESH_REQUESTED_KEY]
        )

    reset()
    old = Aggregates(stamp="2026-12-07T08:00:00:old", trending=[(1, 1.0)])
    aggregates.store(old)
    ttl = aggregates._latest.ttl
    aggregates._latest.ttl = 0.0
    yield old
    aggregates._latest.ttl = ttl
    reset()


def test_a_new_blob_is_read_beside_the_request_which_gets_the_held_one(held, monkeypatch):
    new = Aggregates(stamp="2026-12-07T08:10:00:new", trending=[(2, 1.0)])
    cache.set(aggregates.BLOB_KEY, new.__dict__)  # another process's refresh
    cache.set(aggregates.STAMP_KEY, new.stamp)
    release = threading.Event()
    read_on: list[str] = []
    shared = aggregates._shared

    def slow_shared():
        read_on.append(threading.current_thread().name)
        release.wait(10)
        return shared()

    monkeypatch.setattr(aggregates, "_shared", slow_shared)
    assert aggregates.latest().stamp == held.stamp  # not waiting for the blob
    release.set()
    wait_for(lambda: aggregates.latest().stamp == new.stamp, 30, "the new blob")
    assert read_on and read_on[0] != threading.current_thread().name


def test_a_miss_found_in_the_background_still_asks_for_a_refresh(held, monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(serving_aggregates.refresh_trending, "delay", lambda: asked.append(1))
    cache.delete_many([aggregates.BLOB_KEY, aggregates.STAMP_KEY])  # Redis lost them
    assert serving_aggregates.current().stamp == held.stamp
    wait_for(aggregates.missed, 30, "the background check's miss")
    assert serving_aggregates.current().stamp == held.stamp  # the last seen, meanwhile
    assert asked == [1]
