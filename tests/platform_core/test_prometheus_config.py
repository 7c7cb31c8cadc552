"""The compose Prometheus scrapes /metrics as the settings expect, and its alert rules file is
the one the registry generates (no Docker here: the files are parsed)."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.urls import reverse

from platform_core.alert_rules_file import alert_name, prometheus_rules
from platform_core.alerts import RULES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _mounts(service: dict) -> dict[str, str]:
    """container path → host path (relative to the repository) of a service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        host, container, *_ = volume.split(":")
        if host.startswith("./"):
            mounts[container] = host[2:]
    return mounts


def test_compose_runs_prometheus_on_the_repository_config_with_the_token_secret():
    prometheus = COMPOSE["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    mounts = _mounts(prometheus)
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = config_arg.split("=", 1)[1]
    assert config_path in mounts
    config = yaml.safe_load((ROOT / mounts[config_path]).read_text())

    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == reverse("metrics")
    (targets,) = job["static_configs"]
    host, port = targets["targets"][0].split(":")
    web = COMPOSE["services"]["web"]
    assert host == "web" and f"0.0.0.0:{port}" in " ".join(web["command"])
    # Django answers the name Prometheus uses (else every scrape is a 400)
    allowed = web["environment"]["ALLOWED_HOSTS"]
    assert "web" in allowed.split(":-", 1)[1].rstrip("}").split(",")

    # the bearer token is the web server's METRICS_TOKEN, as a compose secret
    auth = job["authorization"]
    assert auth["type"] == "Bearer"
    assert auth["credentials_file"] == "/run/secrets/metrics_token"
    assert "metrics_token" in prometheus["secrets"]
    assert COMPOSE["secrets"]["metrics_token"]["environment"] == "METRICS_TOKEN"
    settings_text = (ROOT / "platform_core" / "settings.py").read_text()
    assert 'METRICS_TOKEN = env("METRICS_TOKEN"' in settings_text
    assert "METRICS_TOKEN=" in (ROOT / ".env.example").read_text()

    # the rule files Prometheus loads are mounted from the repository
    for rule_file in config["rule_files"]:
        assert rule_file in mounts, rule_file
        rules = yaml.safe_load((ROOT / mounts[rule_file]).read_text())
        names = {r["labels"]["rule"] for g in rules["groups"] for r in g["rules"]}
        assert names == set(RULES)


def test_web_workers_share_their_metrics_through_the_multiprocess_folder():
    command = " ".join(COMPOSE["services"]["web"]["command"])
    assert "PROMETHEUS_MULTIPROC_DIR=" in command
    assert "--config python:platform_core.gunicorn_config" in command


def test_the_rules_file_in_the_repository_is_generated_from_the_defaults():
    committed = (ROOT / "docs" / "ops" / "aisle-alerts.yml").read_text()
    assert committed == prometheus_rules(), (
        "regenerate it: python manage.py alerts_prometheus_rules"
    )


def test_the_generated_rules_follow_the_thresholds():
    text = prometheus_rules({"search_zero_results": 12.5, "job_failed": 3})
    rules = {r["alert"]: r for r in yaml.safe_load(text)["groups"][0]["rules"]}
    zero = rules[alert_name("search_zero_results")]
    assert zero["expr"].endswith(") > 12.5")
    assert "aisle_searches_total" in zero["expr"]
    job = rules[alert_name("job_failed")]  # measured by the platform: its open alerts
    assert job["expr"] == 'aisle_alerts_open{rule="job_failed"} > 0'
    assert ">= 3 job" in job["annotations"]["description"]
    assert all(r["labels"]["severity"] in ("warning", "critical") for r in rules.values())
