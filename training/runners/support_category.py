"""``train_support_category``: the support-category classifier, from the knowledge base's
categories and the operators' support labels (``training.support_category_data``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from recommend.engine import support_rules
from training import selectors
from training.context import JobContext
from training.models import Task
from training.runners.classifier import load_classifier, score
from training.support_category_data import support_category_examples


class RulesCategories:
    """The keyword rules behind ``TextClassifier.predict``'s shape (the baseline)."""

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        return support_rules.predict(texts)


class MajorityCategory:
    """Always the training part's most frequent category (the other baseline)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        return [(self.label, 1.0) for _ in texts]


def _figures(report: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def run(ctx: JobContext) -> None:
    from training.ml.classifier import ClassifierTrainConfig, train_classifier
    from training.ml.device import pick_device, reset_peak

    p = ctx.params
    device = pick_device(p["device"])
    ctx.set_device(device)
    reset_peak(device)
    with ctx.stage("collect labels", 0.0, 0.05):
        data = support_category_examples(seed=p["seed"])
        train = list(data.split.train)
        test = list(data.split.test)
        counts = Counter(label for _, label in train)
        ctx.log(
            f"{data.snapshot['examples']} examples ({data.snapshot['knowledge_base_examples']} "
            f"from the knowledge base, {data.snapshot['manual_labels']} operator labels), labels "
            f"{data.snapshot['label_counts']}; train {len(train)}, valid "
            f"{len(data.split.valid)}, test {len(test)}"
        )
        if len(train) < p["min_examples"]:
            raise ValidationError(
                f"Only {len(train)} training examples; at least {p['min_examples']} are needed "
                "(param min_examples): import help-centre articles with their categories, or "
                "label support questions in the admin (Catalog → Support labels)."
            )
        if len(counts) < 2:
            raise ValidationError(
                f"The training examples carry only the categories {sorted(counts)}; a "
                "classifier needs two."
            )
    config = ClassifierTrainConfig(
        base=p["base"],
        labels=data.labels,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        lr=p["learning_rate"],
        seed=p["seed"],
        device=device.device,
        task=Task.SUPPORT_CATEGORY,
    )
    version = ctx.create_version(
        task=Task.SUPPORT_CATEGORY,
        name=p["name"] or f"support categories {timezone.now():%Y-%m-%d %H:%M}",
        base=p["base"],
        hyperparameters={
            "epochs": p["epochs"],
            "batch_size": p["batch_size"],
            "learning_rate": p["learning_rate"],
            "seed": p["seed"],
            "labels": data.labels,
            "train_examples": len(train),
        },
        dataset_snapshot=data.snapshot,
    )
    valid = list(data.split.valid)
    with ctx.stage("train", 0.05, 0.9):
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
    with ctx.stage("evaluate", 0.9, 1.0):
        report = score(load_classifier(version, device), test, data.labels)
        metrics: dict[str, Any] = {
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "test_examples": report["support"],
            "labels": report["labels"],
            "confusion": report["confusion"],
            "per_label": report["per_label"],
            "train_loss": round(result.final_loss, 4),
            "baselines": {
                "keyword_rules": _figures(score(RulesCategories(), test, data.labels)),
                "majority": _figures(
                    score(MajorityCategory(counts.most_common(1)[0][0]), test, data.labels)
                ),
            },
        }
        if result.eval_metrics:
            metrics["valid"] = {
                "accuracy": round(result.eval_metrics["accuracy"], 4),
                "macro_f1": round(result.eval_metrics["macro_f1"], 4),
            }
        active = selectors.active_version(Task.SUPPORT_CATEGORY)
        if active is not None and active.artifact_dir:
            other = score(load_classifier(active, device), test, data.labels)
            metrics["active_same_split"] = _figures(other)
            metrics["active_version"] = active.pk
    ctx.log(
        f"test accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on "
        f"{metrics['test_examples']} examples (keyword rules "
        f"{metrics['baselines']['keyword_rules']['accuracy']:.4f}, majority "
        f"{metrics['baselines']['majority']['accuracy']:.4f})"
    )
    ctx.finish(version, metrics)


def evaluate(ctx: JobContext, version, active) -> dict[str, Any]:
    """The ``evaluate`` job's figures of a support-category version: the test part of its
    recorded split (as re-derived from today's knowledge base and labels), next to the active
    version and the keyword rules on the same texts."""
    from training.ml.device import pick_device

    seed = ctx.params.get("seed")
    if seed is None:
        seed = (version.hyperparameters or {}).get("seed", 42)
    device = pick_device(ctx.params.get("device"))
    data = support_category_examples(seed=int(seed))
    test = list(data.split.test)
    mine = score(load_classifier(version, device), test, data.labels)
    out: dict[str, Any] = {
        "candidate": {
            **_figures(mine),
            "confusion": mine["confusion"],
            "labels": mine["labels"],
        },
        "keyword_rules": _figures(score(RulesCategories(), test, data.labels)),
        "examples": len(test),
    }
    if active is not None and active.pk != version.pk and active.artifact_dir:
        out["baseline"] = _figures(score(load_classifier(active, device), test, data.labels))
    return out
