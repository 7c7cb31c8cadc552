"""The embedded PostgreSQL runs with Aisle's ``shared_buffers``, set on its first start."""

from __future__ import annotations

import psycopg
import pytest

from platform_core import embedded

MB = 1024 * 1024


def test_shared_buffers_is_an_eighth_of_memory_between_the_default_and_1gb(monkeypatch):
    monkeypatch.delenv("EMBEDDED_PG_SHARED_BUFFERS", raising=False)
    assert embedded.shared_buffers_setting(512 * MB) == "128MB"  # never below the default
    assert embedded.shared_buffers_setting(4096 * MB) == "512MB"
    assert embedded.shared_buffers_setting(64 * 1024 * MB) == "1024MB"
    monkeypatch.setenv("EMBEDDED_PG_SHARED_BUFFERS", "2GB")
    assert embedded.shared_buffers_setting(512 * MB) == "2GB"


def _shared_buffers_and_start(urls) -> tuple[int, str]:
    with psycopg.connect(urls.database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')),"
            " pg_postmaster_start_time()::text"
        ).fetchone()


@pytest.mark.timeout(180)
def test_a_fresh_data_folder_starts_with_the_setting_and_a_running_server_is_left_alone(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("EMBEDDED_PG_SHARED_BUFFERS", "160MB")  # not PostgreSQL's 128MB default
    try:
        size, started = _shared_buffers_and_start(embedded.ensure_services(tmp_path))
        assert size == 160 * MB
        # running already (other programs may be connected): no restart, even for a new value
        monkeypatch.setenv("EMBEDDED_PG_SHARED_BUFFERS", "192MB")
        urls = embedded.ensure_services(tmp_path)
        assert _shared_buffers_and_start(urls) == (160 * MB, started)
    finally:
        embedded.stop_services(tmp_path)
