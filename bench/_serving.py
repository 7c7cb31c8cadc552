"""Shared set-up of the serving benchmarks: a database of their own, a Redis database of their
own, percentiles, and a fixed-width table printer. Never touches the development data."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))


def bench_database_url(name: str) -> str:
    """The URL of database ``name`` on the development PostgreSQL server (created with the
    vector extension when missing)."""
    from platform_core.embedded import export_environment

    export_environment()
    parts = urlsplit(os.environ["DATABASE_URL"])
    import psycopg

    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


def drop_bench_database(name: str) -> None:
    """Drop database ``name`` on the development server, so a bench starts from an empty one."""
    from platform_core.embedded import export_environment

    if not os.environ.get("DATABASE_URL"):
        export_environment()
    parts = urlsplit(os.environ["DATABASE_URL"])
    import psycopg

    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database: str, *, redis_db: int = DEFAULT_REDIS_DB) -> None:
    """Point Django at ``database`` and Redis db ``redis_db``, set it up and migrate."""
    development_url = None
    if not os.environ.get("DATABASE_URL"):
        from platform_core.embedded import export_environment

        export_environment()
    development_url = os.environ["DATABASE_URL"]
    os.environ["AISLE_DEVELOPMENT_DATABASE_URL"] = development_url
    os.environ["DATABASE_URL"] = bench_database_url(database)
    os.environ["REDIS_DB"] = str(redis_db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    os.environ["API_THROTTLE_RATE"] = "100000000/min"  # measure serving, not the rate limit
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset_serving_caches() -> None:
    """Empty this benchmark's Redis database and every serving process cache (models stay)."""
    from django.core.cache import cache

    from platform_core import caches

    cache.clear()
    caches.reset_all()


def timed_get(client, path: str, params: dict):
    """``client.get(path, params)`` timed as a WSGI server sees it: ``(response, sent_ms,
    closed_ms)``. ``sent_ms`` runs until the response is complete (rendered, headers set), where
    gunicorn writes it to the socket and the storefront has its answer; ``closed_ms`` until the
    server has called its ``close()`` too, which runs what a serving request sends after its
    response (its cached result and log rows: ``ServingView.finalize_response``) before the
    worker takes its next request. The test client closes the response before it returns."""
    import time

    from django.http.response import HttpResponseBase

    if not getattr(HttpResponseBase.close, "_bench_clock", False):
        plain_close = HttpResponseBase.close

        def close(self):
            self.bench_close_started = time.perf_counter()
            plain_close(self)

        close._bench_clock = True
        HttpResponseBase.close = close
    started = time.perf_counter()
    response = client.get(path, params)
    ended = time.perf_counter()
    sent = getattr(response, "bench_close_started", ended)
    return response, (sent - started) * 1000, (ended - started) * 1000


def percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if len(values) else float("nan")


def table(headers: list[str], rows: list[list], *, title: str = "") -> str:
    """A plain fixed-width table (numbers right-aligned)."""
    cells = [[f"{c:.4f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [title] if title else []
    lines.append(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    )
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)
