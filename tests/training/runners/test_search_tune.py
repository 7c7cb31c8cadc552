"""``tune_search`` on a planted catalogue whose semantic retriever is noise (random product
vectors, random query vectors): the job must move the fusion towards the lexical side, beat the
defaults on the validation and test queries, record that on the strategy, and leave settings an
operator edited alone unless told to overwrite them."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pytest

from catalog.models import Product
from platform_core.models import AuditLog
from recommend import services as recommend_services
from recommend.models import Strategy, WeightsOrigin
from tests.factories.catalog import ProductFactory
from tests.factories.recommend import write_vectors
from tests.factories.training import ModelVersionFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

NOUNS = [
    "kettle", "teapot", "blender", "toaster", "skillet", "colander",
    "ladle", "whisk", "grater", "peeler", "spatula", "mortar",
]  # fmt: skip
COLOURS = ["red", "blue", "green", "black"]
DIM = 16


def noise(text: str) -> np.ndarray:
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def planted(tmp_path, settings, serving_state, monkeypatch):
    from recommend.serving import loaders

    recommend_services.strategy_ensure_defaults()
    settings.DATA_DIR = str(tmp_path)
    for noun in NOUNS:
        for colour in COLOURS:
            ProductFactory(
                title=f"{colour} {noun}", description="", attributes={}, brand=None, stock=3
            )
    retriever = ModelVersionFactory(task="retriever", is_active=True, dimension=DIM)
    # the noise is seeded by title, not by primary key: keys depend on the tests run before
    rows = list(Product.objects.order_by("pk").values_list("pk", "title"))
    write_vectors(
        retriever.pk,
        [pk for pk, _ in rows],
        np.stack([noise(f"product {title}") for _, title in rows]),
    )
    monkeypatch.setattr(loaders, "encode_query", lambda version, text: noise(text))
    monkeypatch.setattr(  # the job encodes its queries in batches
        loaders,
        "encode_queries",
        lambda version, texts, batch_size=64: np.stack([noise(text) for text in texts]),
    )
    monkeypatch.setattr(loaders, "known_words", lambda version: frozenset())
    external = dict(Product.objects.values_list("pk", "external_id"))
    with open(tmp_path / "judged.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "product_id", "grade"])
        for pk, title in Product.objects.values_list("pk", "title"):
            writer.writerow([title.split()[1], external[pk], 2])
    return retriever


def launch(user, **params) -> Job:
    params.setdefault("judged_csv", "judged.csv")
    job = services.job_launch(kind="tune_search", params=params, user=user)
    return services.job_run(job_id=job.pk)


def search_default() -> Strategy:
    return Strategy.objects.get(surface="search", is_default=True)


def test_noise_retriever_is_weighted_down_and_recorded(planted, operator_user):
    job = launch(operator_user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.metrics
    assert m["split"]["valid_queries"] == 6 and m["test"]["queries"] == 6
    assert m["valid"]["learned"] > m["valid"]["defaults"] + 0.05
    assert m["test"]["learned"] > m["test"]["defaults"]
    assert m["weights"]["lexical"] > m["weights"]["semantic"]
    assert m["written"] is True and m["tried"] == len(m["candidates"]) > 10
    strategy = search_default()
    assert strategy.lexical_weight == m["weights"]["lexical"]
    assert strategy.semantic_weight == m["weights"]["semantic"]
    assert strategy.rrf_k == m["weights"]["rrf_k"]
    assert strategy.weights_set_by == WeightsOrigin.JOB and strategy.weights_job_id == job.pk
    assert strategy.weights_tuning["valid"] == m["valid"]
    assert strategy.weights_tuning["weights_before"] == {
        "lexical": 1.0,
        "semantic": 1.0,
        "rrf_k": 60,
    }
    assert AuditLog.objects.filter(action="strategy.weights_learned").count() == 1
    assert job.result_version is None


def test_operator_settings_survive_a_later_tune(planted, operator_user):
    strategy = search_default()
    strategy.semantic_weight = 3.0
    recommend_services.strategy_save(
        strategy=strategy, actor=operator_user, changed=["semantic_weight"]
    )
    strategy.refresh_from_db()
    assert strategy.weights_set_by == WeightsOrigin.OPERATOR
    version = strategy.version

    job = launch(operator_user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.metrics["written"] is False and "operator" in job.metrics["outcome"]
    strategy.refresh_from_db()
    assert (strategy.semantic_weight, strategy.lexical_weight, strategy.version) == (
        3.0,
        1.0,
        version,
    )
    assert AuditLog.objects.filter(action="strategy.weights_kept").count() == 1

    job = launch(operator_user, overwrite_operator_weights=True)
    assert job.metrics["written"] is True
    strategy.refresh_from_db()
    assert strategy.weights_set_by == WeightsOrigin.JOB
    assert strategy.semantic_weight < strategy.lexical_weight


def test_without_validation_queries_the_job_fails_with_a_reason(planted, operator_user):
    job = launch(operator_user, judged_csv="")
    assert job.status == Job.Status.FAILED
    assert "No validation query" in job.error


def test_a_setting_not_clearly_better_leaves_the_defaults_and_says_so(planted, operator_user):
    """One validation query: a gain's spread is unknown, so no setting is clearly better than
    the defaults (selection=lcb); the defaults stay, and the job says why."""
    job = launch(operator_user, max_queries=1)
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.metrics
    assert m["selection"]["method"] == "lcb" and m["selection"]["fell_back"] is True
    assert m["weights"] == {"lexical": 1.0, "semantic": 1.0, "rrf_k": 60}
    assert "the defaults stay" in m["outcome"] and "no setting is clearly better" in m["outcome"]
    # the wide grid's best validation mean takes the same query's lucky setting
    job = launch(operator_user, max_queries=1, selection="best")
    assert job.metrics["selection"]["method"] == "best"
    assert job.metrics["weights"] != {"lexical": 1.0, "semantic": 1.0, "rrf_k": 60}


def test_the_lists_encode_their_queries_in_one_batch(planted, monkeypatch):
    """Every validation query's vector comes from one batched encode (through the query-vector
    cache), and each semantic list is the one its own vector finds."""
    from django.core.cache import cache as django_cache

    from recommend import selectors
    from recommend.serving import loaders
    from recommend.serving.retrievers import PgVectorIndex
    from training.search_fusion_data import search_query_lists

    batches = []

    def one_at_a_time(version, text):
        raise AssertionError("a query encoded on its own")

    def in_batches(version, texts, batch_size=64):
        batches.append(list(texts))
        return np.stack([noise(text) for text in texts])

    monkeypatch.setattr(loaders, "encode_query", one_at_a_time)
    monkeypatch.setattr(loaders, "encode_queries", in_batches)
    django_cache.clear()  # no query vector cached by an earlier test
    strategy = selectors.strategy_config(search_default())
    queries = ["red kettle", "blue teapot", "green whisk", "  "]
    lists = search_query_lists(queries, strategy=strategy)
    assert len(batches) == 1 and sorted(batches[0]) == sorted(queries[:3])
    assert set(lists) == set(queries[:3])  # a query with no words has no lists
    index = PgVectorIndex(planted.pk, DIM)
    for query in queries[:3]:
        expected = [
            pk
            for pk, score in index.search_planned(noise(query), 100).results
            if score >= strategy.semantic_min_score
        ]
        assert lists[query].semantic == expected
