"""Every built-in job kind end to end on CPU with the real packaged model, on a small demo store
(300 products, 150 shoppers, 20 days): each produces a version with metrics, and promoting it
changes what ``active_version(task)`` returns."""

from __future__ import annotations

import csv

import pytest
from django.conf import settings

from catalog.models import Product
from catalog.services.demo import demo_store_build
from tests import factories
from training import bootstrap, datasets, selectors, services, vectors
from training.ml.pairs import normalize_query
from training.models import Job, ModelVersion, ProductEmbedding, QueryLabel, Task

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo():
    """The demo store in the test database, its hidden truth under DATA_DIR/demo (where job
    parameters may point)."""
    result = demo_store_build(
        products=300, shoppers=150, days=20, seed=42, truth_dir=settings.DATA_DIR / "demo"
    )
    return dict(result.truth_files)


def run(kind: str, user=None, **params) -> Job:
    job = services.job_run(job_id=services.job_launch(kind=kind, params=params, user=user).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def accuracy_on(version: ModelVersion, examples) -> float:
    """The share of ``examples`` (text, label) that ``version``'s classifier labels right."""
    from training.ml.classifier import TextClassifier

    classifier = TextClassifier.load(settings.ARTIFACTS_DIR / version.artifact_dir, device="cpu")
    predicted = [label for label, _ in classifier.predict([text for text, _ in examples])]
    right = sum(p == label for p, (_, label) in zip(predicted, examples, strict=True))
    return round(right / len(examples), 4)


def test_finetuned_retriever_beats_the_base_encoder_on_held_out_queries(
    demo, operator_user, capsys
):
    base = bootstrap.run()  # what `make run` does: the packaged MiniLM, embedded and active
    assert selectors.active_version(Task.RETRIEVER) == base
    assert selectors.missing_vector_count(base) == 0
    assert bootstrap.run() is None  # the next `make run`: a no-op

    # Small on purpose (8 steps): the test holds on a 2-core CPU in about a minute.
    job = run(
        "finetune_retriever",
        operator_user,
        epochs=1,
        batch_size=32,
        max_pairs=256,
        max_seq_len=32,
        learning_rate=1e-4,
        seed=42,
        device="cpu",
        judged_csv=str(demo["relevance"]),
    )

    version = job.result_version
    assert version.task == Task.RETRIEVER and version.status == ModelVersion.Status.READY
    assert version.parent == base and version.job == job and not version.is_active
    assert (settings.ARTIFACTS_DIR / version.artifact_dir / "aisle_meta.json").exists()
    active_products = Product.objects.filter(active=True).count()
    assert ProductEmbedding.objects.filter(model_version=version).count() == active_products > 250
    assert vectors.hnsw_index_exists(version.pk)
    snapshot = version.dataset_snapshot
    assert snapshot["split"]["seed"] == 42 and snapshot["split"]["method"] == "key"
    assert snapshot["split"]["counts"]["train"] > snapshot["split"]["counts"]["test"] > 0
    m = version.metrics
    judged = m["judged"]
    print(
        f"\nheld-out judged queries ({judged['candidate']['queries']:.0f}): NDCG@10 base "
        f"{judged['baseline']['ndcg@10']:.4f} -> fine-tuned {judged['candidate']['ndcg@10']:.4f}; "
        f"test split NDCG@10 base {m['active_same_split']['ndcg@10']:.4f} -> {m['ndcg@10']:.4f}"
    )
    assert judged["candidate"]["ndcg@10"] > judged["baseline"]["ndcg@10"]
    assert judged["candidate"]["queries"] == judged["baseline"]["queries"] >= 50
    assert {"recall@10", "mrr", "queries", "train_loss"} <= set(m)
    assert job.metrics_history and any("loss" in point for point in job.metrics_history)

    services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == version

    # evaluate: the old base against the (new) active version, on the judged queries.
    evaluation = run(
        "evaluate", operator_user, version=base.pk, device="cpu", judged_csv=str(demo["relevance"])
    ).metrics
    assert (
        evaluation["baseline_version"] == version.pk and evaluation["active_version"] == version.pk
    )
    assert (
        evaluation["candidate"] == judged["baseline"]
        and evaluation["baseline"] == judged["candidate"]
    )

    # The fine-tune froze its split: the queries of each part and the rows it mined them from.
    frozen = snapshot["frozen"]
    assert frozen["unit"] == "query" and frozen["counts"] == snapshot["split"]["key_counts"]
    assert frozen["rows"]["events"] > 0 and "searches" in frozen["rows"]  # none in this store
    # Both versions on that stored snapshot: identical held-out rows, and the figures the job
    # measured for each of them on its test split.
    mine, theirs = (
        run("evaluate", operator_user, version=v.pk, snapshot=version.pk, device="cpu").metrics
        for v in (version, base)
    )
    assert mine["snapshot"]["rows_digest"] == theirs["snapshot"]["rows_digest"]
    assert mine["snapshot"]["test_rows"] == theirs["snapshot"]["test_rows"] > 0
    assert mine["candidate"]["ndcg@10"] == pytest.approx(m["ndcg@10"], abs=1e-4)
    assert theirs["candidate"]["ndcg@10"] == pytest.approx(
        m["active_same_split"]["ndcg@10"], abs=1e-4
    )


def test_intent_classifier_from_operator_labels_and_activation(demo, operator_user):
    with open(demo["query_intents"], newline="") as handle:
        truth = {normalize_query(row["query"]): row["intent"] for row in csv.DictReader(handle)}
    # An operator labelled the queries on the labelling page.
    services.query_labels_save(labels=truth, user=operator_user)
    assert QueryLabel.objects.count() == len(truth)

    job = run(
        "finetune_classifier",
        operator_user,
        task="intent",
        labels="manual",
        epochs=2,
        max_examples=240,
        device="cpu",
    )

    version = job.result_version
    m = version.metrics
    assert version.task == Task.INTENT and m["labels"] == ["browse", "buy", "review"]
    assert len(m["confusion"]) == 3 and sum(map(sum, m["confusion"])) == m["test_examples"] > 0
    majority = max(sum(row) for row in m["confusion"]) / m["test_examples"]
    assert m["accuracy"] > majority  # it learnt more than the most frequent label
    assert 0 < m["macro_f1"] <= 1
    # The first intent classifier activates itself (activation policy); no operator step.
    assert job.activation == "activated" and selectors.active_version(Task.INTENT) == version

    # Weak labels (what the session did next) also train a classifier.
    weak = run(
        "finetune_classifier",
        operator_user,
        task="intent",
        labels="weak",
        epochs=1,
        max_examples=64,
        device="cpu",
    )
    assert weak.result_version.dataset_snapshot["weak_labels"] > 0
    # Its comparison is the active (operator-labelled) model scored on the weak job's own test
    # split: recompute both models' accuracy on that split here.
    compared = weak.result_version.metrics
    weak_test = datasets.intent_examples(mode="weak", seed=42).split.test
    assert compared["active_version"] == version.pk and len(weak_test) == compared["test_examples"]
    assert compared["accuracy"] == accuracy_on(weak.result_version, weak_test)
    assert compared["active_same_split"]["accuracy"] == accuracy_on(version, weak_test)
    assert compared["active_same_split"]["accuracy"] != compared["accuracy"]  # two models, not one


def test_collaborative_filtering_on_a_per_shopper_time_split(demo, operator_user):
    job = run("train_cf", operator_user, factors=16, iterations=5)
    version = job.result_version
    m = version.metrics
    assert version.task == Task.CF and m["users"] > 0
    assert set(m["models"]) == {"item_item", "ease", "implicit_mf", "bpr", "popularity"}
    assert (
        m["primary"] in m["models"] and m["models"][m["primary"]]["test"]["ndcg@20"] == m["ndcg@20"]
    )
    popularity = m["models"]["popularity"]["test"]
    # The chosen model ranks the held-out (later) interactions better than best-sellers for everyone.
    assert m["recall@20"] > popularity["recall@20"] and m["ndcg@20"] > popularity["ndcg@20"]
    assert version.dataset_snapshot["split"]["method"] == "per_user_time"
    from training.ml.cf import load_cf_model

    artifact = settings.ARTIFACTS_DIR / version.artifact_dir
    assert load_cf_model(artifact).kind == m["primary"]  # refitted on all interactions
    assert m["sane"] is True, m["sanity"]
    assert job.activation == "activated" and selectors.active_version(Task.CF) == version

    again = run("train_cf", operator_user, factors=8, iterations=3)
    evaluation = run(
        "evaluate", operator_user, version=again.result_version.pk, device="cpu"
    ).metrics
    assert evaluation["active_version"] == version.pk and "recall@20" in evaluation["baseline"]


def test_sentiment_classifier_from_ratings(operator_user):
    factories.build_training_store(per_category=4, shoppers=40, sessions=10)

    job = run(
        "finetune_classifier",
        operator_user,
        task="sentiment",
        epochs=2,
        batch_size=16,
        device="cpu",
    )

    version = job.result_version
    m = version.metrics
    assert version.task == Task.SENTIMENT and m["labels"] == ["negative", "neutral", "positive"]
    assert version.dataset_snapshot["label_counts"].keys() <= {"negative", "neutral", "positive"}
    assert sum(map(sum, m["confusion"])) == m["test_examples"] > 0
    majority = max(sum(row) for row in m["confusion"]) / m["test_examples"]
    assert m["accuracy"] > majority  # it learnt more than the most frequent rating class
    evaluation = run("evaluate", operator_user, version=version.pk, device="cpu").metrics
    assert evaluation["candidate"]["accuracy"] == m["accuracy"]  # same split, same model
