"""The secret key file, the refusal of published keys, and `check --deploy` with the docker
compose environment (each in a fresh Python process, since settings are read once)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from platform_core.security import InsecureSecretKey, secret_key_load

ROOT = Path(__file__).resolve().parents[2]


def test_key_file_is_created_once_private_and_reused(tmp_path):
    data = tmp_path / "data"
    first = secret_key_load(configured="", data_dir=data, debug=False)
    path = data / "secret_key"
    assert len(first) >= 50 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_load(configured="", data_dir=data, debug=False) == first
    assert secret_key_load(configured="", data_dir=tmp_path / "other", debug=False) != first
    assert list(data.iterdir()) == [path]  # no temporary file left behind


def test_the_environment_wins_over_the_file(tmp_path):
    assert secret_key_load(
        configured="from-the-env-" + "x" * 40, data_dir=tmp_path, debug=False
    ).startswith("from-the-env-")
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "published", ["aisle-dev-insecure-change-me", "change-me-to-a-long-random-string"]
)
def test_a_published_key_is_refused_unless_debugging(tmp_path, published):
    with pytest.raises(InsecureSecretKey, match="published"):
        secret_key_load(configured=published, data_dir=tmp_path, debug=False)
    (tmp_path / "secret_key").write_text(published + "\n")  # also from the file
    with pytest.raises(InsecureSecretKey):
        secret_key_load(configured="", data_dir=tmp_path, debug=False)
    assert secret_key_load(configured=published, data_dir=tmp_path, debug=True) == published


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    base.update(
        {
            "AISLE_SKIP_SERVICES": "1",  # no embedded servers: these commands never connect
            "AISLE_ENV_FILE": "/nonexistent/.env",  # a developer's .env must not leak in
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_process_with_debug_off_refuses_to_start_on_the_old_default(tmp_path):
    result = _manage(
        ["check"],
        {"DEBUG": "false", "SECRET_KEY": "aisle-dev-insecure-change-me", "DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "SECRET_KEY is a value published with Aisle's source code" in result.stderr
    fresh = _manage(["check"], {"DEBUG": "false", "DATA_DIR": str(tmp_path)})
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "secret_key").exists()


def _compose_environment() -> dict[str, str]:
    """The app services' `environment:` from docker-compose.yml, with ${VAR:-default} resolved
    to its default (what `docker compose up` gives with an .env that does not override them)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["web"]["environment"]

    def resolve(value) -> str:
        return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))

    return {key: resolve(value) for key, value in env.items()}


def test_check_deploy_passes_with_the_compose_environment(tmp_path):
    env = _compose_environment()
    for key in (
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
    ):
        assert key in env, key
    env["DATA_DIR"] = str(tmp_path / "data")  # /data is the container's volume
    env["ARTIFACTS_DIR"] = str(tmp_path / "artifacts")
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_flags_the_development_defaults(tmp_path):
    """The same check without the compose values warns: the test above measures something."""
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], {"DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout, code
