"""``score_reviews`` uses the sentiment model the activation policy made active: each row keeps
that model's label, probabilities and version; when another version becomes active, the next
run rescores every review with it. A tiny BERT classifier written from a config (no download)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from catalog.models import Event, EventType
from recommend.insights.models import ReviewSentiment, SentimentState
from tests.factories import ProductFactory, ShopperFactory
from tests.training.conftest import write_tiny_bert
from training import services
from training.models import Job, ModelVersion, Task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]

WORDS = ["great", "love", "bad", "broke", "awful", "fine", "ok", "kettle"]
LABELS = ["negative", "neutral", "positive"]


def _version(name: str, tmp_path, *, active: bool) -> ModelVersion:
    from training.ml.classifier import ClassifierTrainConfig, train_classifier

    base = write_tiny_bert(tmp_path / f"{name}-base", WORDS)
    relative = f"test-sentiment-{name}-{datetime.now(UTC):%H%M%S%f}"
    texts = ["great love kettle", "bad broke awful", "fine ok kettle"] * 4
    labels = ["positive", "negative", "neutral"] * 4
    config = ClassifierTrainConfig(
        base=str(base), labels=LABELS, epochs=1, batch_size=4, task="sentiment"
    )
    train_classifier(config, texts, labels, settings.ARTIFACTS_DIR / relative)
    return ModelVersion.objects.create(
        task=Task.SENTIMENT, name=name, artifact_dir=relative, is_active=active
    )


def _score() -> Job:
    job = services.job_run(job_id=services.job_launch(kind="score_reviews", params={}).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def test_the_active_model_labels_the_reviews_and_a_new_one_rescores_them(tmp_path):
    product, shopper = ProductFactory(), ShopperFactory()
    for i, (text, rating) in enumerate([("great love kettle", 5), ("bad broke awful", 1)] * 3):
        Event.objects.create(
            event_id=f"m-{i}",
            shopper=shopper,
            product=product,
            type=EventType.REVIEW,
            value=float(rating),
            review=text,
            timestamp=datetime(2026, 10, 20 + i, 9, tzinfo=UTC),
        )
    first = _version("first", tmp_path, active=True)
    job = _score()
    assert job.metrics["source"] == "model" and job.metrics["model_version"] == first.pk
    assert job.metrics["no_model"] is False and job.metrics["reviews_scored"] == 6
    rows = ReviewSentiment.objects.all()
    assert {r.source for r in rows} == {"model"} and {r.model_version_id for r in rows} == {
        first.pk
    }
    assert all(r.label in LABELS and 0 < r.score <= 1 and 0 <= r.negative_score <= 1 for r in rows)

    assert _score().metrics["reviews_scored"] == 0  # incremental: nothing new

    ModelVersion.objects.filter(pk=first.pk).update(is_active=False)
    second = _version("second", tmp_path, active=True)
    job = _score()
    assert job.metrics["rescored"] is True and job.metrics["reviews_scored"] == 6
    assert set(ReviewSentiment.objects.values_list("model_version_id", flat=True)) == {second.pk}
    assert SentimentState.objects.get().model_version_id == second.pk
