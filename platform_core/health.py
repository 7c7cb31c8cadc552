"""Liveness and readiness probes."""

from __future__ import annotations

import time

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """The process is up (no dependencies checked)."""
    return JsonResponse({"status": "ok"})


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        result = {"status": "ok"}
        if detail:
            result["detail"] = detail
    except Exception as exc:  # a probe reports every failure, it never raises
        result = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
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
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    if not client.ping():
        raise RuntimeError("no PONG")


def _worker():
    from platform_core.celery import app

    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no Celery worker answered within 1 s (start one: make run)")
    return sorted(name for reply in replies for name in reply)


def readyz(request):
    """Database, Redis and at least one worker reachable; 503 when one fails."""
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    checks["worker"] = _timed(_worker) if checks["redis"]["status"] == "ok" else {
        "status": "fail", "error": "Redis is unreachable, so workers cannot be asked"}
    ok = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)
