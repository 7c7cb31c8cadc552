"""Checks that turn bad configuration into one clear sentence instead of a traceback wall."""

from __future__ import annotations

import socket


class PreflightError(RuntimeError):
    pass


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PreflightError(
                f"Port {port} on {host} is already in use ({exc.strerror}). Stop whatever holds it "
                f"(another `make run`?) or pick another port: make run PORT={port + 1}"
            ) from None


def check_database() -> str:
    """Connect with Django's settings; require the `vector` extension to be available."""
    from django.conf import settings
    from django.db import connection
    from django.db.utils import OperationalError

    db = settings.DATABASES["default"]
    where = db.get("HOST") or "localhost"
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
            row = cur.fetchone()
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PreflightError(
            f"Cannot reach PostgreSQL database {db['NAME']!r} at {where}: {first}. "
            "Check DATABASE_URL (or unset it to use the embedded server) and that the server is running."
        ) from None
    if row is None:
        raise PreflightError(
            f"PostgreSQL at {where} has no 'vector' extension available. Aisle stores embeddings with pgvector: "
            "install it on that server (e.g. the pgvector/pgvector:pg16 image or the postgresql-16-pgvector package), "
            "or unset DATABASE_URL to use the embedded server."
        )
    return row[0]


def check_redis() -> None:
    from django.conf import settings
    from django.core.cache import cache

    try:
        cache._cache.get_client(write=True).ping()
    except Exception as exc:
        raise PreflightError(
            f"Cannot reach Redis at {settings.REDIS_URL}: {exc}. Check REDIS_URL (or unset it to use the embedded server)."
        ) from None
