"""``make run`` step (after the retriever): a fresh install labels every search's intent.

When no intent version is active:

1. the rule-based fallback (``recommend.engine.intent_rules``) is registered as an intent
   version with no artifact and activated; the API labels its answers ``"source": "rules"``
   with the cue that decided, and the version's metrics say why the rules stand in;
2. **weak labels** — then, when the search log holds at least ``INTENT_BOOTSTRAP_MIN_EXAMPLES``
   training queries weakly labelled by what their sessions did next (``training.ml.weak_labels``:
   a cart or purchase → buy, a rating or review → review, views → browse) of at least two
   labels (and ``INTENT_BOOTSTRAP_TRAIN`` is on), a ``finetune_classifier`` job trains on them
   in this process (a short run: ``INTENT_BOOTSTRAP_MAX_EXAMPLES`` examples,
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
    out.write(f"Intent: training a classifier on {decided.reason} {decided.label_counts}…\n")
    job = _train()
    active = selectors.active_version(Task.INTENT)
    made = job.versions.order_by("-pk").first()
    trained = (made.metrics if made is not None else None) or job.metrics or {}
    versus = trained.get("active_same_split") or {}
    figures = (
        f"macro-F1 {trained.get('macro_f1')} vs the rules' {versus.get('macro_f1')} on "
        f"{trained.get('test_examples')} held-out weak-labelled queries"
    )
    if active is not None and active.pk != version.pk:
        message = f"Intent version #{active.pk} ({active.name}) is active: {figures}."
        out.write((style.SUCCESS(message) if style else message) + "\n")
        return active
    if job.status == Job.Status.SUCCEEDED:
        out.write(
            f"  The rules stay active: the weak-label classifier did not beat them ({figures}).\n"
        )
    else:
        out.write(f"  The rules stay active: job #{job.pk} ended {job.status} {job.error or ''}\n")
    return version


def _train() -> Job:
    with transaction.atomic():
        job = services.job_launch(
            kind="finetune_classifier",
            params={
                "task": "intent",
                "labels": "auto",
                "epochs": settings.INTENT_BOOTSTRAP_EPOCHS,
                "max_examples": settings.INTENT_BOOTSTRAP_MAX_EXAMPLES,
                "name": "Intent classifier (weak labels, first run)",
                "promote_if_better": True,
            },
        )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


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
