"""Fixtures of the serving tests (search, recommendations, their API, the ranker job): fresh
serving caches, a small serving store with a hashing encoder, eager Celery tasks, a read-only
API client. ``tests/conftest.py`` imports them so every test folder can use them."""

from __future__ import annotations

import pytest


@pytest.fixture
def serving_state():
    """Fresh serving caches: the tests' Redis database and every process-local cache.

    The database rolls back after each test but Redis and module caches would not: a
    strategy, trending list or vector cached by one test must not leak into the next.
    """
    from django.core.cache import cache

    from platform_core import caches

    def reset() -> None:
        cache.clear()
        caches.reset_all()

    reset()
    yield
    reset()
    from recommend.serving.pool import close_pool_connections

    close_pool_connections()  # a pool thread's connection would keep the test database open


@pytest.fixture
def eager_tasks():
    """Queued Celery tasks run at once in the test process, as a worker would run them."""
    from platform_core.celery import app

    previous = app.conf.task_always_eager  # (monkeypatch cannot restore a Celery setting)
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def hashing_encoder(monkeypatch):
    """Queries are encoded by the test store's hashing encoder instead of a real model, one at a
    time (serving) and in batches (jobs that prepare many queries)."""
    import numpy as np

    from recommend.serving import loaders
    from tests.factories.recommend import HashingEncoder

    encoder = HashingEncoder()
    monkeypatch.setattr(loaders, "encode_query", lambda version, text: encoder(text))
    monkeypatch.setattr(
        loaders,
        "encode_queries",
        lambda version, texts, batch_size=64: (
            np.stack([encoder(text) for text in texts])
            if texts
            else np.zeros((0, encoder.dimension), dtype=np.float32)
        ),
    )
    return encoder


@pytest.fixture
def serving_store(db, serving_state, hashing_encoder):
    from recommend import services
    from tests.factories.recommend import build_serving_store

    services.strategy_ensure_defaults()  # a transactional test before this one flushed them
    return build_serving_store()


@pytest.fixture
def read_client(db):
    """A storefront client whose key has only the read scope."""
    from rest_framework.test import APIClient

    from platform_core.services import api_client_create

    _, key = api_client_create(name="read-only-store", scopes="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client
