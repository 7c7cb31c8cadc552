"""``make run`` step (after the retriever): a fresh install labels every search's intent.

When no intent version is active:

1. the rule-based fallback (``recommend.engine.intent_rules``) is registered as an intent
   version with no artifact and activated; the API labels its answers ``"source": "rules"``
   with the cue that decided, and the version's metrics say why the rules stand in;
2. **weak labels** — then, when the search log holds at least ``INTENT_BOOTSTRAP_MIN_EXAMPLES``
   training queries weakly labelled by what their sessions did next (``training.ml.weak_labels``:
   a cart or purchase → buy, a rating or review → review, views → browse) of at least two
   labels (and ``INTENT_BOOTSTRAP_TRAIN`` is on), a ``finetune_classifier`` job is queued to
   train on them (a short run: ``INTENT_BOOTSTRAP_MAX_EXAMPLES`` examples,
   ``INTENT_BOOTSTRAP_EPOCHS`` epochs) with ``promote_if_better``: it replaces the rules only
   when its macro-F1 on its held-out weak-labelled queries beats the rules' on the same queries.
   Weak labels are noisy (what a session did next is not always what its query meant): on the
   demo store a short run did not beat the rules, and the rules kept serving.

Operators improve either with the labelling page and a ``finetune_classifier`` retrain launched
with ``promote_if_better`` (the job scores the active version — rules included — on its own
test split). A fast no-op once an intent version is active.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from recommend.engine.intent_rules import RULES_BASE
from training import datasets, selectors, services
from training.models import Job, ModelVersion, Task

RULES_NAME = "Intent rules (fallback)"


@dataclass(frozen=True)
class Plan:
    """What the bootstrap will do: ``train`` on weak labels, or fall back to ``rules``."""

    action: str
    reason: str
    train_examples: int
    label_counts: dict


def plan() -> Plan:
    """Decide between training on the weak labels and the rules (reads the search log)."""
    data = datasets.intent_examples(mode="auto", seed=0)
    train = len(data.split.train)
    counts = dict(data.snapshot.get("label_counts") or {})
    minimum = settings.INTENT_BOOTSTRAP_MIN_EXAMPLES
    if not settings.INTENT_BOOTSTRAP_TRAIN:
        return Plan("rules", "training at bootstrap is off (INTENT_BOOTSTRAP_TRAIN)", train, counts)
    if train < minimum:
        return Plan(
            "rules",
            f"only {train} weakly labelled training queries in the search log (at least "
            f"{minimum} are needed to train)",
            train,
            counts,
        )
    if len([label for label, n in counts.items() if n]) < 2:
        return Plan("rules", f"the weak labels carry one label only ({counts})", train, counts)
    return Plan("train", f"{train} weakly labelled training queries", train, counts)


def run(*, stdout=None, style=None) -> ModelVersion | None:
    if selectors.active_version(Task.INTENT) is not None:
        return None
    out = stdout or sys.stdout
    decided = plan()
    reason = decided.reason
    if decided.action == "train":
        reason = "a classifier trained on the weak labels must beat them on its test queries"
    version = rules_version_activate(reason=reason)
    message = f"Intent version #{version.pk} ({version.name}) is active: rules, because {reason}."
    out.write((style.SUCCESS(message) if style else message) + "\n")
    if decided.action != "train":
        return version
    # With the Academy's promotion gate on, no system launch may promote on its own (the gate
    # refuses a launcher-less promote_if_better): the job trains and an operator who passed the
    # course promotes it.
    gated = bool(settings.PROMOTION_REQUIRED_COURSE)
    job = _queue_training(promote=not gated)
    then = (
        "an operator who passed the promotion course promotes it if it beats them"
        if gated
        else "it replaces the rules only if it beats them on its held-out queries "
        "(promote_if_better)"
    )
    out.write(
        f"Intent: job #{job.pk} queued on '{job.queue}' to train a classifier on "
        f"{decided.reason} {decided.label_counts}; {then}.\n"
    )
    return version


def _queue_training(*, promote: bool) -> Job:
    """The weak-label classifier as a queued job: the platform starts serving (with the rules)
    at once instead of waiting for a training run — minutes on a CPU, 17 on a loaded 2-core
    machine when it ran here inline."""
    with transaction.atomic():
        return services.job_launch(
            kind="finetune_classifier",
            params={
                "task": "intent",
                "labels": "auto",
                "epochs": settings.INTENT_BOOTSTRAP_EPOCHS,
                "max_examples": settings.INTENT_BOOTSTRAP_MAX_EXAMPLES,
                "name": "Intent classifier (weak labels, first run)",
                "promote_if_better": promote,
            },
        )


def rules_version_activate(*, reason: str) -> ModelVersion:
    """Register (or reuse) the rules version and make it the active intent version."""
    version = ModelVersion.objects.filter(
        task=Task.INTENT, base=RULES_BASE, status=ModelVersion.Status.READY
    ).order_by("pk").first() or services.model_version_register(
        task=Task.INTENT,
        name=RULES_NAME,
        base=RULES_BASE,
        hyperparameters={"source": "rules", "module": "recommend.engine.intent_rules"},
        metrics={"fallback_reason": reason},
    )
    return services.model_activate_initial(version=version)
