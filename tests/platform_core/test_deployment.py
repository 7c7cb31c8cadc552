"""docker-compose.yml cannot run here (no Docker engine): check its structure instead."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_TEXT = (ROOT / "platform_core" / "settings.py").read_text()
SETTINGS_VARS = set(re.findall(r'env(?:\.\w+)?\("([A-Z_]+)"', SETTINGS_TEXT))


def test_services_images_and_commands():
    services = COMPOSE["services"]
    assert set(services) == {
        "db",
        "redis",
        "web",
        "worker",
        "worker-flush",
        "worker-gpu",
        "beat",
        "prometheus",
    }
    assert services["db"]["image"].startswith("pgvector/pgvector:pg16")
    # the HNSW indexes and vectors must fit in its buffers (128MB, the default, holds neither)
    assert "shared_buffers=${POSTGRES_SHARED_BUFFERS:-1GB}" in services["db"]["command"]
    assert services["redis"]["image"].startswith("redis:7")
    assert "healthcheck" in services["db"] and "healthcheck" in services["redis"]
    assert "gunicorn" in " ".join(services["web"]["command"])
    worker = services["worker"]["command"]
    assert (
        worker[worker.index("-Q") + 1] == "default,cpu"
        and worker[worker.index("--pool") + 1] == "threads"
    )
    flush = services["worker-flush"]["command"]
    assert flush[flush.index("-Q") + 1] == "flush,profiles"
    assert services["redis"]["command"][-2:] == ["--maxmemory-policy", "noeviction"]
    gpu = services["worker-gpu"]["command"]
    assert gpu[gpu.index("-Q") + 1] == "gpu" and gpu[gpu.index("--pool") + 1] == "solo"
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert devices["driver"] == "nvidia" and "gpu" in devices["capabilities"]
    assert services["beat"]["command"][3] == "beat"


def test_one_image_definition_and_shared_artifacts_volume():
    services = COMPOSE["services"]
    for name in ("web", "worker", "worker-flush", "worker-gpu", "beat"):
        build = services[name]["build"]
        context = build if isinstance(build, str) else build["context"]
        assert context == "."
        assert "artifacts:/artifacts" in services[name]["volumes"]
        assert services[name]["environment"]["ARTIFACTS_DIR"] == "/artifacts"
    assert (ROOT / "Dockerfile").exists()
    assert {"pgdata", "artifacts"} <= set(COMPOSE["volumes"])


def test_every_variable_it_sets_is_read_by_the_settings():
    app_env = set(COMPOSE["services"]["web"]["environment"])
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    db_only = {"POSTGRES_PASSWORD", "POSTGRES_SHARED_BUFFERS"}  # read by compose's db service
    assert app_env <= SETTINGS_VARS, app_env - SETTINGS_VARS
    assert example - db_only <= SETTINGS_VARS, (example - db_only) - SETTINGS_VARS
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= example


def test_profile_refresh_runs_beside_the_flushes_never_behind_a_job():
    """A new event must reach the shopper's profile within seconds: its refresh has a queue
    the flush worker consumes (in run_platform and compose), not the cpu jobs' one."""
    from platform_core.celery import app
    from platform_core.management.commands import run_platform

    route = app.amqp.router.route({}, "recommend.tasks.refresh_profiles")
    assert route["queue"].name == "profiles"
    source = (ROOT / Path(run_platform.__file__).relative_to(ROOT)).read_text()
    assert '"flush,profiles"' in source
    flush = COMPOSE["services"]["worker-flush"]["command"]
    assert "profiles" in flush[flush.index("-Q") + 1].split(",")
