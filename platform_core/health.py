"""Liveness and readiness probes.

``/readyz`` has one contract, which later features extend with checks, never new formats::

    {"status": "ok" | "degraded" | "fail",
     "checks": {name: {"status": "ok" | "degraded" | "fail", "detail": ..., "latency_ms": float}}}

``fail`` (HTTP 503) only when this node cannot serve: the database or Redis is unreachable, or
a check an app registered as blocking fails (``register_check``: serving's aggregates are not
computed yet). ``degraded`` (HTTP 200, so a backlog never takes every node out of a load
balancer): a buffer backlog or dead letters above their thresholds, no worker consuming a queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import JsonResponse

OK, DEGRADED, FAIL = "ok", "degraded", "fail"
_RANK = {OK: 0, DEGRADED: 1, FAIL: 2}
QUEUES = ("default", "cpu", "gpu", "flush", "profiles")

#: ``{name: (check, blocking)}`` registered by the apps (in ``AppConfig.ready``).
_app_checks: dict[str, tuple[Callable[[], object], bool]] = {}


def register_check(name: str, check: Callable[[], object], *, blocking: bool = False) -> None:
    """Add an app's readiness check: it returns its detail, raises :class:`Degraded`, or raises
    anything else to fail. A failing ``blocking`` check makes the node not ready (503); it
    needs Redis, so it is skipped (degraded) while Redis is unreachable."""
    _app_checks[name] = (check, blocking)


class Degraded(Exception):
    """Raised by a check that works but is not healthy; its message is the detail."""

    def __init__(self, detail):
        super().__init__(str(detail))
        self.detail = detail


def healthz(request):
    """The process is up (no dependencies checked)."""
    return JsonResponse({"status": "ok"})


def _timed(check: Callable[[], object]) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": OK, "detail": check()}
    except Degraded as exc:
        result = {"status": DEGRADED, "detail": exc.detail}
    except Exception as exc:  # a probe reports every failure, it never raises
        result = {"status": FAIL, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database():
    with connection.cursor() as cur:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("the 'vector' extension is not installed in this database")
    return f"pgvector {row[0]}"


def _redis():
    from platform_core.buffers import redis_client

    client = redis_client()
    if not client.ping():
        raise RuntimeError("no PONG")
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        aof = client.config_get("appendonly").get("appendonly")
    except Exception:  # a managed Redis may refuse CONFIG: nothing more to say then
        return "PONG"
    detail = f"PONG; maxmemory-policy={policy}, appendonly={aof}"
    if policy not in (None, "noeviction"):
        raise Degraded(f"{detail}: buffered rows can be evicted (set maxmemory-policy noeviction)")
    return detail


def _buffers():
    from platform_core import buffers

    report = buffers.health()
    if report["problems"]:
        raise Degraded({**report["buffers"], "problems": report["problems"]})
    return report["buffers"]


def _workers():
    from platform_core.celery import app

    replies = app.control.inspect(timeout=1.0).active_queues() or {}
    served = {queue["name"] for queues in replies.values() for queue in queues}
    if not replies:
        raise Degraded(
            "no Celery worker answered within 1 s: jobs and buffer flushes wait (start one: make run)"
        )
    detail = {
        "workers": sorted(replies),
        "queues_without_worker": [q for q in QUEUES if q not in served],
    }
    if "flush" not in served or "default" not in served:
        raise Degraded(detail)
    return detail


def readiness() -> tuple[str, dict]:
    """Every check, timed; the overall status is the worst of them."""
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    redis_down = checks["redis"]["status"] == FAIL
    blocking = {"database"}
    app_checks = [(name, check) for name, (check, _) in _app_checks.items()]
    for name, check in (("buffers", _buffers), ("worker", _workers), *app_checks):
        checks[name] = (
            {"status": DEGRADED, "detail": "Redis is unreachable", "latency_ms": 0.0}
            if redis_down
            else _timed(check)
        )
    blocking |= {name for name, (_, is_blocking) in _app_checks.items() if is_blocking}
    status = max((c["status"] for c in checks.values()), key=_RANK.__getitem__)
    # only the database, Redis and blocking app checks make a node unable to serve: other
    # failures degrade it
    if status == FAIL and not redis_down and all(checks[n]["status"] != FAIL for n in blocking):
        status = DEGRADED
    return status, checks


def readyz(request):
    """503 when the database or Redis is unreachable or a blocking check fails; 200 otherwise,
    ``degraded`` or ``ok``."""
    status, checks = readiness()
    return JsonResponse(
        {"status": status, "checks": checks},
        status=503 if status == FAIL else 200,
        json_dumps_params={"default": str},
    )
