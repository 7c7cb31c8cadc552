"""``finetune_classifier``: query intent or review sentiment, split 70/15/15 by text key."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from recommend.engine import intent_rules
from recommend.engine.intent_rules import RULES_BASE
from recommend.engine.keyword_rules import KeywordRules
from training import datasets, selectors
from training.context import JobContext
from training.models import ModelVersion


def examples_for(
    task: str, *, labels_mode: str, seed: int, days: int | None = None
) -> datasets.TextExamples:
    if task == "intent":
        return datasets.intent_examples(
            mode="auto" if labels_mode == "ratings" else labels_mode, seed=seed, days=days
        )
    return datasets.sentiment_examples(seed=seed, days=days)


class RulesClassifier:
    """A keyword-rules table (``recommend.engine.keyword_rules``) behind
    ``TextClassifier.predict``'s shape, limited to ``labels`` when given: the rule-based intent
    fallback, or the support categories' baseline."""

    def __init__(self, rules: KeywordRules, labels: tuple[str, ...] | None = None) -> None:
        self.rules = rules
        self.labels = labels

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        return self.rules.predict(texts, self.labels)


def load_classifier(version: ModelVersion, device: Any):
    from training.ml.classifier import TextClassifier

    return TextClassifier.load(settings.ARTIFACTS_DIR / version.artifact_dir, device=device)


def score(classifier, examples: list[tuple[str, str]], labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label figures and the confusion matrix on ``examples``."""
    from training.ml.metrics import classification_report

    texts = [text for text, _ in examples]
    truth = [label for _, label in examples]
    predicted = [label for label, _ in classifier.predict(texts)] if texts else []
    report = classification_report(truth, predicted, labels=labels)
    report["accuracy"] = round(report["accuracy"], 4)
    report["macro_f1"] = round(report["macro_f1"], 4)
    return report


def figures(report: dict[str, Any]) -> dict[str, float]:
    """The two figures classifiers are compared by (a baseline, the active version)."""
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def train_and_log(
    ctx: JobContext,
    *,
    task: str,
    name: str,
    data: datasets.TextExamples,
    train: list[tuple[str, str]],
    device: Any,
    hyperparameters: dict[str, Any],
    stage: tuple[float, float],
) -> tuple[ModelVersion, Any]:
    """The train-and-log step of every text-classifier job: the new version (its
    hyperparameters: the common ones, then ``hyperparameters``, the labels and the training
    size), the classifier fine-tuned on ``train`` into its artifact folder (the split's valid
    part scored as it trains) during the ``stage`` part of the progress, and the steps logged.
    Returns the version and the trainer's result."""
    from training.ml.classifier import ClassifierTrainConfig, train_classifier

    p = ctx.params
    config = ClassifierTrainConfig(
        base=p["base"],
        labels=data.labels,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        lr=p["learning_rate"],
        seed=p["seed"],
        device=device.device,
        task=task,
    )
    version = ctx.create_version(
        task=task,
        name=name,
        base=p["base"],
        hyperparameters={
            "epochs": p["epochs"],
            "batch_size": p["batch_size"],
            "learning_rate": p["learning_rate"],
            "seed": p["seed"],
            **hyperparameters,
            "labels": data.labels,
            "train_examples": len(train),
        },
        dataset_snapshot=data.snapshot,
    )
    valid = list(data.split.valid)
    with ctx.stage("train", *stage):
        result = train_classifier(
            config,
            [t for t, _ in train],
            [label for _, label in train],
            ctx.artifact_path(version),
            progress_cb=ctx.progress,
            should_cancel=ctx.should_cancel,
            eval_texts=[t for t, _ in valid] or None,
            eval_labels=[label for _, label in valid] or None,
        )
    ctx.log(
        f"trained {result.steps} steps at {result.examples_per_sec:.0f} examples/s, "
        f"final loss {result.final_loss:.4f}"
    )
    return version, result


def classifier_metrics(test: dict[str, Any], result: Any) -> dict[str, Any]:
    """What every text-classifier job records of its version: the test part's report
    (:func:`score`), the final training loss and, when the trainer scored the valid part, its
    figures."""
    metrics: dict[str, Any] = {
        "accuracy": test["accuracy"],
        "macro_f1": test["macro_f1"],
        "test_examples": test["support"],
        "labels": test["labels"],
        "confusion": test["confusion"],
        "per_label": test["per_label"],
        "train_loss": round(result.final_loss, 4),
    }
    if result.eval_metrics:
        metrics["valid"] = {
            "accuracy": round(result.eval_metrics["accuracy"], 4),
            "macro_f1": round(result.eval_metrics["macro_f1"], 4),
        }
    return metrics


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device, reset_peak

    p = ctx.params
    task = p["task"]
    device = pick_device(p["device"])
    ctx.set_device(device)
    reset_peak(device)
    with ctx.stage("collect labels", 0.0, 0.1):
        data = examples_for(task, labels_mode=p["labels"], seed=p["seed"])
        train = list(data.split.train)
        if p["max_examples"] and len(train) > p["max_examples"]:
            random.Random(p["seed"]).shuffle(train)
            train = train[: p["max_examples"]]
        present = sorted({label for _, label in train})
        ctx.log(
            f"{data.snapshot['examples']} labelled examples ({data.snapshot['source']}), "
            f"labels {data.snapshot['label_counts']}; train {len(train)}, valid {len(data.split.valid)}, "
            f"test {len(data.split.test)}"
        )
        if len(train) < p["min_examples"]:
            hint = (
                "label queries on the admin labelling page or log more searches"
                if task == "intent"
                else "import reviews with ratings"
            )
            raise ValidationError(
                f"Only {len(train)} training examples for {task}; at least {p['min_examples']} "
                f"are needed (param min_examples): {hint}."
            )
        if len(present) < 2:
            raise ValidationError(
                f"The training examples carry only the label(s) {present}; a classifier needs two."
            )
    version, result = train_and_log(
        ctx,
        task=task,
        name=p["name"] or f"{task} classifier {timezone.now():%Y-%m-%d %H:%M}",
        data=data,
        train=train,
        device=device,
        hyperparameters={"labels_mode": p["labels"]},
        stage=(0.1, 0.85),
    )
    with ctx.stage("evaluate", 0.85, 1.0):
        classifier = load_classifier(version, device)
        test = score(classifier, list(data.split.test), data.labels)
        metrics = classifier_metrics(test, result)
        active = selectors.active_version(task)
        if active is not None and (active.artifact_dir or active.base == RULES_BASE):
            # the rule-based fallback is measured like a model, so promote_if_better can
            # replace it by a trained classifier that labels the same test queries better
            other_model = (
                RulesClassifier(intent_rules.INTENT_RULES, tuple(data.labels))
                if active.base == RULES_BASE
                else load_classifier(active, device)
            )
            other = score(other_model, list(data.split.test), data.labels)
            metrics["active_same_split"] = figures(other)
            metrics["active_version"] = active.pk
    ctx.log(
        f"test accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
        f"on {metrics['test_examples']} examples"
    )
    ctx.finish(version, metrics)
