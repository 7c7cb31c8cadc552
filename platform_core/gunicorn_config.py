"""gunicorn settings shared by ``make run`` and docker compose (``-c python:platform_core.gunicorn_config``).

``/metrics`` sums the figures every worker writes to ``PROMETHEUS_MULTIPROC_DIR``
(``prometheus_client``'s multi-process mode, ``platform_core.metrics``): the folder is emptied when
the server starts, so an earlier run's workers are not counted, and a worker that exits is
marked dead, so its live gauges drop out (its counters stay in the sums, as they should).
Plain Python: the master process never imports Django.
"""

from __future__ import annotations

import os
from pathlib import Path


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Each worker, after it forked and loaded the application, loads the serving models on a
    background thread (``recommend.serving.warmup``): ``/readyz`` answers 503 until they have
    loaded, and the first search is not a cold one. ``AISLE_WARM_MODELS=0`` turns it off."""
    if os.environ.get("AISLE_WARM_MODELS", "1") in ("0", "false", "no"):
        return
    from recommend.serving import warmup

    warmup.start()
