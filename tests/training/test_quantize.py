"""``quantize``: an int8 child of a retriever that serves against its parent's vectors, and the
promotion rule that holds it within a tolerance of its parent's quality."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from catalog.models import Product
from recommend import services as recommend_services
from recommend.serving import cache
from tests.factories.catalog import ProductFactory
from tests.factories.training import ModelVersionFactory
from training import selectors, services
from training.activation import (
    KEEP,
    PROMOTE,
    VersionPolicy,
    decide,
    parent_tolerance_check,
)
from training.models import Job, ModelVersion, ProductEmbedding, Task

pytestmark = pytest.mark.django_db

TITLES = [
    "red running shoes",
    "blue trail running shoes",
    "stainless steel kettle",
    "electric tea kettle",
    "wireless noise cancelling headphones",
    "over ear headphones",
    "organic green tea",
    "black coffee beans",
    "leather wallet",
    "kids lego bricks set",
    "cast iron skillet",
    "yoga mat",
]
QUERIES = {
    "running shoes": [0, 1],
    "kettle": [2, 3],
    "headphones": [4, 5],
    "tea": [6, 3],
    "coffee": [7],
    "frying pan": [10],
}


def _child(parent: ModelVersion, ndcg: float, parent_ndcg: float) -> ModelVersion:
    return ModelVersionFactory(
        task=Task.RETRIEVER,
        parent=parent,
        vector_space=parent,
        precision="int8",
        metrics={
            "k": 10,
            "ndcg@10": ndcg,
            "parent_version": parent.pk,
            "parent_same_split": {"ndcg@10": parent_ndcg},
        },
    )


def test_the_tolerance_rule_compares_a_child_with_its_parent_not_the_active_version():
    metrics = {
        "k": 10,
        "ndcg@10": 0.792,
        "parent_version": 3,
        "parent_same_split": {"ndcg@10": 0.8},
    }
    assert parent_tolerance_check(metrics, 0.01)[0]  # 1 % below: at the floor
    assert not parent_tolerance_check({**metrics, "ndcg@10": 0.78}, 0.01)[0]
    assert not parent_tolerance_check({"ndcg@10": 0.9}, 0.01)[0]  # nothing compared
    policy = VersionPolicy(metric="ndcg@10", parent_tolerance=True, activate_first=False)
    # Worse than the active version's figure, yet promoted: the rule is the parent's tolerance.
    promoted = decide(
        policy=policy,
        params={"promote_if_better": True},
        metrics=metrics,
        active_id=3,
        active_metrics={"ndcg@10": 0.8, "split": "x"},
    )
    assert promoted.action == PROMOTE and "within tolerance" in promoted.reason
    refused = decide(
        policy=policy,
        params={"promote_if_better": True},
        metrics={**metrics, "ndcg@10": 0.7},
        active_id=3,
    )
    assert refused.action == KEEP and "beyond tolerance" in refused.reason
    assert decide(policy=policy, params={}, metrics=metrics, active_id=None).action == KEEP


def test_an_operator_cannot_promote_a_child_beyond_tolerance(operator_user, settings):
    parent = ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    too_lossy = _child(parent, ndcg=0.70, parent_ndcg=0.80)
    with pytest.raises(ValidationError, match="beyond tolerance") as refused:
        services.model_promote(version=too_lossy, user=operator_user)
    assert refused.value.code == "beyond_tolerance"
    assert selectors.active_version(Task.RETRIEVER) == parent
    settings.QUANTIZED_NDCG_TOLERANCE = 0.2  # the tolerance is a setting
    services.model_promote(version=too_lossy, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == too_lossy


def test_a_child_counts_its_parents_vectors_and_embedding_refreshes_the_parent():
    parent = ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    child = _child(parent, 0.8, 0.8)
    ModelVersion.objects.filter(pk=parent.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=child.pk).update(is_active=True)
    product = ProductFactory()
    assert selectors.missing_vector_count(child) == 1
    ProductEmbedding.objects.create(
        product=product, model_version=parent, vector=np.ones(384), text_hash="x"
    )
    assert selectors.missing_vector_count(child) == 0
    assert [v.pk for v in selectors.served_retriever_versions()] == [parent.pk]


def test_query_vector_cache_keys_hold_the_vector_space(serving_state):
    encoded = []

    def encode(text):
        encoded.append(text)
        return np.ones(4, dtype=np.float32)

    cache.query_vector(7, "tea", encode, vector_space=7)
    cache.query_vector(7, "tea", encode, vector_space=5)  # same version id, another space
    cache.query_vector(7, "tea", encode, vector_space=5)
    assert encoded == ["tea", "tea"]


@pytest.fixture
def demo_like(tmp_path, settings, serving_state, operator_user):
    """A small catalogue embedded by the real packaged MiniLM, and judged queries."""
    settings.DATA_DIR = str(tmp_path)
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    recommend_services.strategy_ensure_defaults()
    products = [
        ProductFactory(title=title, description="", attributes={}, brand=None, stock=3)
        for title in TITLES
    ]
    parent = ModelVersionFactory(task=Task.RETRIEVER, name="base", is_active=True)
    job = services.job_launch(
        kind="embed_catalog", params={"device": "cpu", "batch_size": 16}, user=operator_user
    )
    assert services.job_run(job_id=job.pk).status == Job.Status.SUCCEEDED
    with open(tmp_path / "judged.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "product_id", "grade"])
        for query, rows in QUERIES.items():
            for row in rows:
                writer.writerow([query, products[row].external_id, 2])
    return parent


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_the_int8_child_serves_search_through_the_api_against_its_parents_vectors(
    demo_like, operator_user, storefront
):
    parent = demo_like
    vectors_before = ProductEmbedding.objects.count()
    job = services.job_launch(
        kind="quantize",
        params={"judged_csv": "judged.csv", "latency_queries": 12, "promote_if_better": True},
        user=operator_user,
    )
    job = services.job_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    child = job.result_version
    assert (child.parent_id, child.vector_space_id, child.precision) == (
        parent.pk,
        parent.pk,
        "int8",
    )
    assert ProductEmbedding.objects.count() == vectors_before  # nothing re-embedded
    m = child.metrics
    assert m["parent_version"] == parent.pk and m["within_tolerance"] is True
    assert abs(m["ndcg@10"] - m["parent_same_split"]["ndcg@10"]) <= 0.01
    assert m["query_cosine"]["cosine_mean"] > 0.95
    assert m["latency"]["int8"]["n"] == m["latency"]["fp32"]["n"] == 12
    assert job.activation == "promoted", job.activation_reason
    assert selectors.active_version(Task.RETRIEVER) == child

    response = storefront.get("/api/v1/search", {"q": "kettle"})
    assert response.status_code == 200, response.content
    titles = [r["product"]["title"] for r in response.json()["results"]]
    assert set(titles[:2]) == {"stainless steel kettle", "electric tea kettle"}
    top = response.json()["results"][0]["explanation"]["retrievers"]["semantic"]
    assert top["score"] > 0.3  # served by the child's query vector against the parent's vectors
    timing = response["Server-Timing"]
    assert "encode;dur=" in timing
    assert f'encoder;desc="#{child.pk} int8 in #{parent.pk}"' in timing
    assert Product.objects.count() == len(TITLES)


WORDS = ["red", "blue", "kettle", "teapot", "shoes", "boots", "tea", "coffee", "mug", "lamp"]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_distill_makes_a_smaller_query_encoder_that_serves_in_its_teachers_space(
    tmp_path, settings, serving_state, operator_user, storefront, tiny_encoder
):
    from recommend.models import Strategy

    settings.DATA_DIR = str(tmp_path)
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    recommend_services.strategy_ensure_defaults()
    tiny_encoder(settings.ARTIFACTS_DIR / "retriever" / "teacher", WORDS)
    teacher = ModelVersionFactory(
        task=Task.RETRIEVER,
        name="tiny teacher",
        base="",
        artifact_dir="retriever/teacher",
        dimension=32,
        is_active=True,
    )
    products = [
        ProductFactory(title=f"{c} {n}", description="", attributes={}, brand=None, stock=3)
        for c in ("red", "blue")
        for n in ("kettle", "teapot", "shoes", "boots", "mug", "lamp")
    ]
    job = services.job_launch(kind="embed_catalog", params={"device": "cpu"}, user=operator_user)
    assert services.job_run(job_id=job.pk).status == Job.Status.SUCCEEDED
    with open(tmp_path / "judged.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "product_id", "grade"])
        for product in products:
            writer.writerow([product.title.split()[1], product.external_id, 2])
    vectors_before = ProductEmbedding.objects.count()

    job = services.job_launch(
        kind="distill",
        params={"judged_csv": "judged.csv", "layers": 1, "steps": 6, "latency_queries": 10},
        user=operator_user,
    )
    job = services.job_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    student = job.result_version
    assert (student.parent_id, student.vector_space_id) == (teacher.pk, teacher.pk)
    assert student.hyperparameters["layers"] == [1]  # the last of the teacher's two layers
    assert ProductEmbedding.objects.count() == vectors_before  # query-only: nothing re-embedded
    figures = student.metrics["distill"]
    assert figures["steps"] == 6 and figures["last_loss"] < figures["first_loss"]
    assert student.metrics["latency"]["student"]["n"] == 10

    strategy = Strategy.objects.get(surface="search", is_default=True)
    strategy.retriever_version = student
    recommend_services.strategy_save(strategy=strategy, changed=["retriever_version"])
    response = storefront.get("/api/v1/search", {"q": "teapot"})
    assert response.status_code == 200, response.content
    assert response.json()["results"]
    assert f'encoder;desc="#{student.pk} fp32 in #{teacher.pk}"' in response["Server-Timing"]


def test_the_version_page_shows_speed_and_quality_beside_the_parent(client, operator_user):
    from django.urls import reverse

    parent = ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    child = _child(parent, ndcg=0.70, parent_ndcg=0.80)
    child.metrics = {
        **child.metrics,
        "latency": {
            "fp32": {"p50_ms": 12.5, "p95_ms": 20.0},
            "int8": {"p50_ms": 4.0, "p95_ms": 6.5},
        },
        "speedup_p50": 3.12,
        "method": "onnx",
    }
    child.save()
    client.force_login(operator_user)
    page = client.get(reverse("admin:training_modelversion_change", args=[child.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "speed and quality vs its parent" in html.lower() or "Speed and quality" in html
    for figure in ("12.5", "4.0", "0.7000", "0.8000", "3.12"):
        assert figure in html
    assert "promotion refused" in html and "beyond tolerance" in html
    assert f"serves against version #{parent.pk}" in html


def test_jobs_that_start_from_the_active_retriever_use_an_int8_childs_fp32_parent():
    from training.runners.quantize import _parent
    from training.runners.retriever import _parent_version

    parent = ModelVersionFactory(task=Task.RETRIEVER)
    child = _child(parent, 0.8, 0.8)
    ModelVersion.objects.filter(pk=child.pk).update(is_active=True)
    assert _parent_version(None) == parent  # fine-tuning an ONNX graph is not possible
    assert _parent_version(child.pk) == parent
    assert _parent({"version": None}) == parent  # quantise / distil the fp32 parent
