"""Progress reporting and cancellation shared by every training and embedding loop.

A loop receives two plain callables from the job service: ``progress_cb`` (where it reports how
far it got) and ``should_cancel`` (which it polls once per step). Neither knows about Django:
the service adapts them to the Job row (progress columns, heartbeat, cancel flag).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["CancelCheck", "JobCancelled", "ProgressCallback", "Throttled", "check_cancel"]


class JobCancelled(Exception):
    """Raised inside a loop when the job's cancel check answers True; nothing is saved."""


class ProgressCallback(Protocol):
    """Receives progress from a loop.

    ``fraction`` is in [0, 1] and never decreases; ``step`` counts units of work done out of
    ``total_steps`` (optimizer steps for training, texts for encoding); ``loss`` is the last
    step's loss or None where there is none; ``extra`` holds loop-specific figures (epoch,
    learning rate, throughput).
    """

    def __call__(
        self,
        fraction: float,
        step: int,
        total_steps: int,
        loss: float | None,
        extra: dict[str, Any],
    ) -> None: ...


CancelCheck = Callable[[], bool]


def check_cancel(should_cancel: CancelCheck | None) -> None:
    """Raise :class:`JobCancelled` when ``should_cancel`` is given and answers True."""
    if should_cancel is not None and should_cancel():
        raise JobCancelled("job cancelled")


class Throttled:
    """Wrap a progress callback so it runs at most once every ``min_interval`` seconds.

    The first call and the final call (``fraction >= 1`` or ``step >= total_steps``) always go
    through, so the job row ends at 100 %. A call dropped by the throttle is remembered and
    :meth:`flush` delivers it (useful before raising on cancel or failure). Thread-safe: the
    heartbeat thread of a job may report through the same wrapper.
    """

    def __init__(
        self,
        callback: ProgressCallback,
        min_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._min_interval = min_interval
        self._clock = clock
        self._last_sent: float | None = None
        self._pending: tuple[float, int, int, float | None, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def __call__(
        self,
        fraction: float,
        step: int,
        total_steps: int,
        loss: float | None,
        extra: dict[str, Any],
    ) -> None:
        """Forward the call if the interval has passed or it is the final one; else hold it."""
        final = fraction >= 1.0 or (total_steps > 0 and step >= total_steps)
        now = self._clock()
        with self._lock:
            due = self._last_sent is None or now - self._last_sent >= self._min_interval
            if not (due or final):
                self._pending = (fraction, step, total_steps, loss, extra)
                return
            self._last_sent = now
            self._pending = None
        self._callback(fraction, step, total_steps, loss, extra)

    def flush(self) -> None:
        """Deliver the last call the throttle held back, if any."""
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                self._last_sent = self._clock()
        if pending is not None:
            self._callback(*pending)
