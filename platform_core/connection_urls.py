"""Turn the DATABASE_URL / REDIS_URL environment variables into Django and Celery settings.

Plain Python so it can be unit-tested without a configured Django. Accepted forms:

* ``postgresql://user:password@host:5432/name`` (also ``postgres://``), and the unix-socket form
  ``postgresql://user@/name?host=/path/to/socket-dir`` that the embedded server uses.
* ``redis://[:password@]host:6379/0``, ``rediss://...`` and ``unix:///path/redis.sock?db=0``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlencode, urlsplit


class ConfigurationError(ValueError):
    """A setting from the environment is malformed; the message says which and why."""


def database_settings(url: str) -> dict:
    """Django ``DATABASES['default']`` for a PostgreSQL URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ConfigurationError(
            f"DATABASE_URL must be a postgresql:// URL (Aisle needs PostgreSQL with pgvector), got scheme {parts.scheme!r}."
        )
    query = parse_qs(parts.query)
    host = query.pop("host", [parts.hostname or ""])[0]
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigurationError("DATABASE_URL names no database (the path after the host).")
    options = {k: v[0] for k, v in query.items()}
    # Statements bound on the server (platform_core.bound_sql: the retrievers' hot statements)
    # are prepared from their fifth run on a connection, psycopg's default, which Django turns
    # off (None). The ORM's cursors bind on the client and never prepare. "none" turns it off
    # (a pooler in transaction mode that cannot keep prepared statements).
    threshold = str(options.get("prepare_threshold", "5")).strip().lower()
    if threshold != "none" and not threshold.isdigit():
        raise ConfigurationError(
            f"DATABASE_URL's prepare_threshold must be a whole number or none, got {threshold!r}."
        )
    options["prepare_threshold"] = None if threshold == "none" else int(threshold)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def database_url(settings: dict, *, name: str | None = None) -> str:
    """The inverse of :func:`database_settings` (used to point a worker at the test database)."""
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or ""
    dbname = name or settings["NAME"]
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{dbname}?{urlencode({'host': host})}"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{dbname}"


def redis_url(url: str, *, db: int | None = None) -> str:
    """Normalise a Redis URL for redis-py / django cache, optionally forcing the database number."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"REDIS_URL must be redis://, rediss:// or unix://, got {parts.scheme!r}."
        )
    if db is None:
        return url
    if parts.scheme == "unix":
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["db"] = str(db)
        return f"unix://{parts.path}?{urlencode(query)}"
    netloc = parts.netloc
    return f"{parts.scheme}://{netloc}/{db}" + (f"?{parts.query}" if parts.query else "")


def redis_db(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return int(parse_qs(parts.query).get("db", ["0"])[0])
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else 0


def celery_broker_url(url: str) -> str:
    """Celery/kombu spell unix sockets ``redis+socket://``; TCP URLs pass through."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}?virtual_host={redis_db(url)}"
    return url
