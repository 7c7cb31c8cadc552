"""``TimedValue``: rebuilt after its ttl; with ``background``, an expired value is still served
while one refresh runs elsewhere, so no request waits on a rebuild."""

from __future__ import annotations

import threading

from platform_core.caches import TimedValue


class Builds:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def expire(value: TimedValue) -> None:
    value._at -= value.ttl + 1


def test_without_background_the_caller_rebuilds_an_expired_value():
    value, build = TimedValue("test.timed-plain", 60.0), Builds()
    assert value.get(build) == 1
    assert value.get(build) == 1  # fresh
    expire(value)
    assert value.get(build) == 2


def test_with_background_the_held_value_is_served_while_one_refresh_runs():
    queued = []
    value = TimedValue("test.timed-background", 60.0, background=queued.append)
    build = Builds()
    assert value.get(build) == 1  # nothing held yet: the caller builds
    assert queued == []
    expire(value)
    assert value.get(build) == 1  # the held value, at once
    assert value.get(build) == 1  # and no second refresh while one is pending
    assert len(queued) == 1 and build.n == 1
    queued.pop()()  # the refresh runs elsewhere
    assert value.get(build) == 2 and build.n == 2
    expire(value)
    value.get(build)
    assert len(queued) == 1  # the next expiry starts the next refresh


def test_a_failed_refresh_keeps_the_value_and_the_next_expired_read_tries_again():
    queued = []
    value = TimedValue("test.timed-failing", 60.0, background=queued.append)
    assert value.get(lambda: "first") == "first"
    expire(value)

    def broken():
        raise RuntimeError("database down")

    assert value.get(broken) == "first"
    queued.pop()()  # logged, not raised
    assert value.get(broken) == "first"  # still expired: another refresh is queued
    assert len(queued) == 1
    queued.pop()()
    assert value.get(lambda: "second") == "first"
    queued.pop()()
    assert value.get(lambda: "third") == "second"


def test_a_refresh_started_before_a_clear_stores_nothing():
    queued = []
    value = TimedValue("test.timed-cleared", 60.0, background=queued.append)
    assert value.get(lambda: "old data") == "old data"
    expire(value)
    assert value.get(lambda: "built from the old data") == "old data"
    value.clear()  # the caches reset (a test, a new store) while the refresh is in flight
    queued.pop()()
    assert value.get(lambda: "new data") == "new data"


def test_a_background_that_cannot_start_falls_back_to_building_inline():
    def refuse(fn):
        raise RuntimeError("executor shut down")

    value = TimedValue("test.timed-refused", 60.0, background=refuse)
    assert value.get(lambda: "first") == "first"
    expire(value)
    assert value.get(lambda: "second") == "second"


def test_a_refresh_on_another_thread_replaces_the_value():
    go, done = threading.Event(), threading.Event()

    def on_thread(fn):
        def run():
            go.wait(5)
            fn()
            done.set()

        threading.Thread(target=run).start()

    value = TimedValue("test.timed-thread", 60.0, background=on_thread)
    assert value.get(lambda: "first") == "first"
    expire(value)
    assert value.get(lambda: "second") == "first"  # served while the refresh waits to run
    go.set()
    assert done.wait(5)
    assert value.get(lambda: "third") == "second"
