"""``evaluate``: any version against the active version of its task, on the same split.

Retriever and CF versions are scored on a stored snapshot (``training.snapshots``): the
``snapshot`` param names the version whose frozen rows to use, by default the evaluated
version's own; versions without one have their split re-derived from the live tables.

Retrievers, classifiers and CF models are built in; another app can add a task with
``training.jobs.register_evaluator(task, fn)`` where ``fn(ctx, version, active) -> dict``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from training import datasets, evaluation, selectors, snapshots
from training.context import JobContext
from training.jobs import get_evaluator
from training.ml.snapshots import FrozenSplit
from training.models import ModelVersion, Task

#: Tasks whose training jobs freeze their split (``training.snapshots``).
FROZEN_TASKS = (Task.RETRIEVER, Task.CF)


def recorded_seed(version: ModelVersion, default: int = 42) -> int:
    split = (version.dataset_snapshot or {}).get("split") or {}
    seed = split.get("seed", (version.hyperparameters or {}).get("seed"))
    return int(seed) if seed is not None else default


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device

    p = ctx.params
    version = ModelVersion.objects.filter(pk=p["version"]).first()
    if version is None:
        raise ValidationError(f"Model version #{p['version']} does not exist.")
    active = selectors.active_version(version.task)
    device = pick_device(p["device"])
    ctx.set_device(device)
    seed = p["seed"] if p["seed"] is not None else recorded_seed(version)
    ctx.log(
        f"evaluating {version.task} version #{version.pk} against active "
        f"#{active.pk if active else '-'} (split seed {seed})"
    )
    stored = _stored_snapshot(version, p.get("snapshot"))
    if stored is not None:
        ctx.log(
            f"on the stored snapshot of version #{stored.version.pk} "
            f"({stored.frozen.unit} ids, checksum {stored.frozen.checksum[:12]})"
        )
    # A re-derived split reads the live tables: leave out the rows its training left out
    # (exclude_flagged), or the held-out part is not the one it was judged on. A stored
    # snapshot's rows are exactly its own: flags set since change nothing.
    excluded = stored is None and bool((version.dataset_snapshot or {}).get("exclude_flagged"))
    with ctx.stage("evaluate", 0.0, 1.0), datasets.flagged_rows_excluded(excluded):
        custom = get_evaluator(version.task)
        if custom is not None:
            result = custom(ctx, version, active)
        elif version.task == Task.RETRIEVER:
            result = _retriever(ctx, version, seed, device, stored)
        elif version.task in (Task.INTENT, Task.SENTIMENT):
            result = _classifier(version, active, seed, device)
        elif version.task == Task.CF:
            result = _cf(version, active, p["k"] or 20, stored)
        else:
            raise ValidationError(
                f"No evaluator for {version.task} versions (register one with "
                "training.jobs.register_evaluator)."
            )
    result.update(version=version.pk, active_version=active.pk if active else None, seed=seed)
    metrics = dict(version.metrics or {})
    metrics["evaluation"] = result
    version.metrics = metrics
    version.save(update_fields=["metrics"])
    ctx.finish(version, result)


@dataclass(frozen=True)
class StoredSnapshot:
    """The stored snapshot an evaluation runs on, and the version that froze it."""

    version: ModelVersion
    frozen: FrozenSplit

    def describe(self, rows: list) -> dict[str, Any]:
        """What the evaluation records of the rows it used: identical rows, identical digest."""
        digest = hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()
        return {
            "version": self.version.pk,
            "checksum": self.frozen.checksum,
            "test_rows": len(rows),
            "rows_digest": digest,
        }


def _stored_snapshot(version: ModelVersion, source_id: int | None) -> StoredSnapshot | None:
    """The snapshot named by the ``snapshot`` param, else the version's own, else None."""
    if source_id:
        source = ModelVersion.objects.filter(pk=source_id).first()
        if source is None:
            raise ValidationError(f"Model version #{source_id} (snapshot) does not exist.")
        if source.task != version.task:
            raise ValidationError(
                f"Version #{source.pk} is a {source.task} version; a {version.task} version is "
                "evaluated on a snapshot of its own task."
            )
        if version.task not in FROZEN_TASKS:
            raise ValidationError(f"{version.task} versions are not evaluated on stored snapshots.")
        return StoredSnapshot(source, snapshots.snapshot_load(source))
    if version.task in FROZEN_TASKS and snapshots.frozen_record(version) is not None:
        return StoredSnapshot(version, snapshots.snapshot_load(version))
    return None


def _retriever(
    ctx: JobContext, version: ModelVersion, seed: int, device, stored: StoredSnapshot | None
) -> dict[str, Any]:
    from training.runners.embed import load_version_encoder

    k = ctx.params["k"] or 10
    described = None
    if ctx.params["judged_csv"]:
        judgments = datasets.judged_csv(ctx.params["judged_csv"])
        source = ctx.params["judged_csv"]
    elif stored is not None:
        judgments = datasets.retriever_data(seed=seed, frozen=stored.frozen).judgments("test")
        source = f"held-out queries (test split of the snapshot of version #{stored.version.pk})"
        described = stored.describe(
            [(q, pid, gain) for q, grades in judgments.items() for pid, gain in grades.items()]
        )
    else:
        days = (version.dataset_snapshot or {}).get("days")
        judgments = datasets.retriever_data(seed=seed, days=days).judgments("test")
        source = "held-out queries (test split)"
    missing = selectors.missing_vector_count(version)
    if missing:
        raise ValidationError(
            f"Version #{version.pk} lacks vectors for {missing} active products; run "
            f"embed_catalog --param version={version.pk} first."
        )
    model = load_version_encoder(version, device)
    comparison = evaluation.compare_retrievers(model, version, judgments, k=k, device=device)
    out = {"source": source, "k": k, **comparison}
    if described is not None:
        out["snapshot"] = described
    cand, base = comparison["candidate"], comparison.get("baseline")
    ctx.log(
        f"{source}: ndcg@{k} {cand[f'ndcg@{k}']:.4f} vs active {base[f'ndcg@{k}']:.4f}"
        if base
        else f"{source}: ndcg@{k} {cand[f'ndcg@{k}']:.4f}"
    )
    return out


def _classifier(
    version: ModelVersion, active: ModelVersion | None, seed: int, device
) -> dict[str, Any]:
    from training.runners.classifier import examples_for, load_classifier, score

    mode = (version.hyperparameters or {}).get("labels_mode", "auto")
    data = examples_for(version.task, labels_mode=mode, seed=seed)
    test = list(data.split.test)
    mine = score(load_classifier(version, device), test, data.labels)
    out: dict[str, Any] = {
        "candidate": {
            "accuracy": mine["accuracy"],
            "macro_f1": mine["macro_f1"],
            "confusion": mine["confusion"],
            "labels": mine["labels"],
        },
        "examples": len(test),
    }
    if active is not None and active.pk != version.pk and active.artifact_dir:
        theirs = score(load_classifier(active, device), test, data.labels)
        out["baseline"] = {"accuracy": theirs["accuracy"], "macro_f1": theirs["macro_f1"]}
    return out


def _cf(
    version: ModelVersion, active: ModelVersion | None, k: int, stored: StoredSnapshot | None
) -> dict[str, Any]:
    """Both versions scored on the candidate's own split (the protocol and seed it recorded).

    A version trained by the current ``train_cf`` serves a model refitted on every interaction,
    held-out ones included, so its artifact would be scored on data it has seen: what is scored
    is its recipe (chosen family and parameters) fitted on the split's training part, with the
    validation part excluded, as the job scored its own choice. A version that records no recipe
    (trained before the recipe was kept) is scored as its artifact on that split.
    """
    from django.conf import settings

    from training.ml.cf import (
        build_interactions,
        evaluate_cf,
        load_cf_model,
        recorded_recipe,
        refit,
    )

    recorded = (version.metrics or {}).get("split") or {}
    days = (version.dataset_snapshot or {}).get("days")
    if stored is not None:
        split, _ = datasets.cf_interactions(frozen=stored.frozen)
        recorded = stored.frozen.meta.get("split") or recorded
    else:
        split, _ = datasets.cf_interactions(
            days=days,
            protocol=recorded.get("protocol", "global_time"),
            seed=recorded.get("seed", 42),
        )
    train, valid, test = (
        build_interactions(split.train),
        build_interactions(split.valid),
        build_interactions(split.test),
    )

    def score(subject: ModelVersion) -> dict[str, Any]:
        recipe = recorded_recipe(subject.hyperparameters)
        if recipe is not None:
            return evaluate_cf(refit(recipe, train), train, test, k=k, exclude=valid)
        model = load_cf_model(settings.ARTIFACTS_DIR / subject.artifact_dir)
        return evaluate_cf(model, train, test, k=k)

    out: dict[str, Any] = {"candidate": score(version), "k": k, "split": recorded}
    if stored is not None:
        out["snapshot"] = stored.describe([row[4] for row in split.test])
    if active is not None and active.pk != version.pk:
        out["baseline"] = score(active)
    return out
