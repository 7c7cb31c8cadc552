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
from training.runners.classifier import (
    RulesClassifier,
    classifier_metrics,
    figures,
    load_classifier,
    score,
    train_and_log,
)
from training.support_category_data import support_category_examples

#: The keyword rules, scored beside the trained classifier (the baseline).
RULES_BASELINE = RulesClassifier(support_rules.SUPPORT_RULES)


class MajorityCategory:
    """Always the training part's most frequent category (the other baseline)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        return [(self.label, 1.0) for _ in texts]


def run(ctx: JobContext) -> None:
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
    version, result = train_and_log(
        ctx,
        task=Task.SUPPORT_CATEGORY,
        name=p["name"] or f"support categories {timezone.now():%Y-%m-%d %H:%M}",
        data=data,
        train=train,
        device=device,
        hyperparameters={},
        stage=(0.05, 0.9),
    )
    with ctx.stage("evaluate", 0.9, 1.0):
        report = score(load_classifier(version, device), test, data.labels)
        metrics = classifier_metrics(report, result)
        metrics["baselines"] = {
            "keyword_rules": figures(score(RULES_BASELINE, test, data.labels)),
            "majority": figures(
                score(MajorityCategory(counts.most_common(1)[0][0]), test, data.labels)
            ),
        }
        active = selectors.active_version(Task.SUPPORT_CATEGORY)
        if active is not None and active.artifact_dir:
            other = score(load_classifier(active, device), test, data.labels)
            metrics["active_same_split"] = figures(other)
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
            **figures(mine),
            "confusion": mine["confusion"],
            "labels": mine["labels"],
        },
        "keyword_rules": figures(score(RULES_BASELINE, test, data.labels)),
        "examples": len(test),
    }
    if active is not None and active.pk != version.pk and active.artifact_dir:
        out["baseline"] = figures(score(load_classifier(active, device), test, data.labels))
    return out
