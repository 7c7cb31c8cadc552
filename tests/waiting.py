"""Waiting for a state in tests: poll until it holds, never sleep a fixed time (a loaded machine
is slower, not wrong)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.05
) -> Any:
    """``predicate()``'s first true value, polled every ``every`` seconds; AssertionError naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
