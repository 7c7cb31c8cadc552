"""Bad configuration gets one clear sentence, not a traceback wall."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _run_platform(extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "run_platform", "--no-bootstrap", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_database_url_is_named():
    proc = _run_platform(
        {
            "DATABASE_URL": "postgresql://postgres@/aisle?host=/nonexistent-dir",
            "REDIS_URL": settings.REDIS_URL,
        },
        "--port",
        "8791",
    )
    assert proc.returncode != 0
    assert "Cannot reach PostgreSQL database 'aisle' at /nonexistent-dir" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_port_in_use_is_named():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        proc = _run_platform({}, "--port", str(port))
    assert proc.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.django_db
def test_database_without_vector_extension_is_named(monkeypatch):
    from platform_core import preflight

    class NoVectorCursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql, params=None):
            self.sql = sql

        def fetchone(self):
            return None  # pg_available_extensions has no 'vector' row

    from django.db import connection

    monkeypatch.setattr(connection, "cursor", lambda: NoVectorCursor())
    with pytest.raises(preflight.PreflightError, match="no 'vector' extension available"):
        preflight.check_database()
