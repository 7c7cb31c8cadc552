"""``train_cf``: item-item co-occurrence and implicit ALS on a time split, against popularity.

The artifact directory holds the primary model (the better of the two on the validation
period by NDCG@k) at its root, loadable with ``training.ml.cf.load_cf_model(artifact_dir)``,
and both models in ``item_item/`` and ``implicit_mf/``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from training import datasets
from training.context import JobContext
from training.models import Task


def fit_and_score(
    interactions_split, *, params: dict, progress=None, should_cancel=None
) -> tuple[dict, dict]:
    """Fit both models on the training period; metrics on valid and test (and popularity's)."""
    from training.ml.cf import (
        ImplicitMF,
        ItemItemCF,
        PopularityModel,
        build_interactions,
        evaluate_cf,
    )

    train = build_interactions(interactions_split.train)
    valid = build_interactions(interactions_split.valid)
    test = build_interactions(interactions_split.test)
    k = params["k"]
    models = {
        "item_item": ItemItemCF.fit(train, top_k=params["top_k"]),
        "implicit_mf": ImplicitMF.fit(
            train,
            factors=params["factors"],
            iterations=params["iterations"],
            regularization=params["regularization"],
            alpha=params["alpha"],
            seed=params["seed"],
            progress_cb=progress,
            should_cancel=should_cancel,
        ),
        "popularity": PopularityModel.fit(train),
    }
    scores = {
        name: {"valid": evaluate_cf(m, train, valid, k=k), "test": evaluate_cf(m, train, test, k=k)}
        for name, m in models.items()
    }
    return models, scores


def run(ctx: JobContext) -> None:
    p = ctx.params
    with ctx.stage("read interactions", 0.0, 0.1):
        split, snapshot = datasets.cf_interactions(days=p["days"])
        counts = snapshot["split"]["counts"]
        ctx.log(f"{snapshot['interactions']} interactions split by time: {counts}")
        if counts["train"] < 10 or counts["test"] < 1:
            raise ValidationError(
                f"Too few interactions for a time split ({counts}); import events first."
            )
    with ctx.stage("fit", 0.1, 0.9):
        models, scores = fit_and_score(
            split, params=p, progress=ctx.progress, should_cancel=ctx.should_cancel
        )
    ctx.check_cancel()
    k = p["k"]
    key = f"ndcg@{k}"
    primary = max(("item_item", "implicit_mf"), key=lambda name: scores[name]["valid"][key])
    hyper = {
        name: p[name]
        for name in ("factors", "iterations", "regularization", "alpha", "top_k", "k", "seed")
    }
    hyper["primary"] = primary
    version = ctx.create_version(
        task=Task.CF,
        name=p["name"] or f"cf {primary} {timezone.now():%Y-%m-%d %H:%M}",
        hyperparameters=hyper,
        dataset_snapshot=snapshot,
    )
    with ctx.stage("save", 0.9, 1.0):
        from training.ml.encoders import atomic_artifact_dir

        with atomic_artifact_dir(ctx.artifact_path(version)) as scratch:
            models[primary].save(scratch)
            for name in ("item_item", "implicit_mf"):
                models[name].save(scratch / name)
    test = scores[primary]["test"]
    metrics = {
        f"recall@{k}": round(test[f"recall@{k}"], 4),
        key: round(test[key], 4),
        "coverage": round(test["coverage"], 4),
        "users": test["users"],
        "primary": primary,
        "models": {
            name: {part: {m: round(v, 4) for m, v in s.items()} for part, s in parts.items()}
            for name, parts in scores.items()
        },
    }
    for name in ("item_item", "implicit_mf", "popularity"):
        ctx.log(
            f"{name}: test recall@{k} {scores[name]['test'][f'recall@{k}']:.4f}, "
            f"ndcg@{k} {scores[name]['test'][key]:.4f}"
        )
    ctx.finish(version, metrics)
