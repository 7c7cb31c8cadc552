"""Shared fixtures: users per role, API clients with keys, a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.serving_fixtures import (  # noqa: F401  (fixtures shared by several test folders)
    eager_tasks,
    hashing_encoder,
    read_client,
    serving_state,
    serving_store,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis():
    """The tests' own Redis database starts empty (cache, throttles, broker)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's PBKDF2 takes about 0.5 s a hash on this 2-core machine and every user fixture
    sets a password; no test here measures the hasher's strength (the settings keep PBKDF2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def one_torch_thread(settings):
    """Train and encode with one torch thread (jobs too, through ``JOB_TORCH_THREADS``): on a
    shared 2-core machine (the test database, other test runs) two OpenMP threads spin-wait for
    each other and run several times slower."""
    settings.JOB_TORCH_THREADS = 1
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def operator_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="oper", role="operator")


@pytest.fixture
def analyst_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="ana", role="analyst")


@pytest.fixture
def learner_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="learner", role="learner", is_staff=False)


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def api_key(db):
    """A storefront key with every scope: returns (client, key)."""
    from platform_core.services import api_client_create

    return api_client_create(name="test-store", scopes="read,events,write-catalog,simulate")


@pytest.fixture
def storefront(api_key):
    """A DRF APIClient sending the storefront key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    return client


def _worker_env(tmp_artifacts: Path) -> dict:
    from platform_core.connection_urls import database_url

    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(settings.DATABASES["default"])
    env["REDIS_URL"] = settings.REDIS_URL
    env["REDIS_DB"] = str(settings.REDIS_DB)
    env["DATA_DIR"] = str(settings.DATA_DIR)
    env["ARTIFACTS_DIR"] = str(settings.ARTIFACTS_DIR)
    env["AISLE_SKIP_SERVICES"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on every queue, against the test database and the
    tests' Redis database. Tests that use it need committed data (``transactional_db``)."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "platform_core",
        "worker",
        "-Q",
        "default,cpu,gpu,flush,profiles",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "-n",
        f"test-{os.getpid()}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=_worker_env(settings.ARTIFACTS_DIR),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    from platform_core.celery import app

    deadline = time.time() + 300  # a cold start takes minutes under a load average of 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log.read_text()[-3000:]}")
        if app.control.ping(timeout=0.5):
            break
    else:
        proc.kill()
        raise RuntimeError(f"celery worker did not answer:\n{log.read_text()[-3000:]}")
    proc.log_path = log
    yield proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, launched once per browser-test module (no download;
    a module scope keeps Playwright's event loop out of the other tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


# The longest test files first: pytest-xdist (``make test``) deals whole files to its workers in
# collection order, so a long file dealt last would run alone on one core while the other idles.
# Every other file keeps its collection order.
LONG_FIRST = (
    "test_jobs_kinds.py",
    "test_simulator_traffic.py",
    "test_migration_from_recommend.py",
    "test_labs_with_real_jobs.py",
    "test_search_relevance.py",
    "test_simulator_finetuned.py",
    "test_permission_matrix.py",
    "test_api_fuzz.py",
)


def pytest_collection_modifyitems(config, items):
    items.sort(
        key=lambda item: (
            LONG_FIRST.index(item.path.name) if item.path.name in LONG_FIRST else len(LONG_FIRST)
        )
    )
