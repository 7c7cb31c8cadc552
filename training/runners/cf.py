"""``train_cf``: CF candidates selected on validation, evaluated on a held-out test part against
popularity, with a sanity verdict, then refitted on all interactions for serving.

The split protocol is a parameter: ``per_user_time`` (default; each shopper's latest products
held out), ``per_user_random`` (the published benchmarks' protocol) or ``global_time``. An
evaluation set with no shopper fails the job and says why; a small or weak one is recorded on
the version as ``metrics["sane"] = False`` with ``metrics["sanity"]`` saying why, and the log
warns. The artifact directory holds the chosen model, refitted on every interaction, loadable
with ``training.ml.cf.load_cf_model(artifact_dir)``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from training import datasets, selectors, snapshots
from training.context import JobContext
from training.models import Task

SECOND_CUTOFF = 10


def _space(p: dict):
    from training.ml.cf import search_space

    families = [name.strip() for name in p["models"].split(",") if name.strip()]
    try:
        return search_space(
            grid=p["search"] == "grid",
            families=families,
            top_k=p["top_k"],
            shrink=p["shrink"],
            factors=p["factors"],
            iterations=p["iterations"],
            regularization=p["regularization"],
            alpha=p["alpha"],
            ease_lambda=p["ease_lambda"],
            ease_max_items=p["ease_max_items"],
            seed=p["seed"],
        )
    except ValueError as exc:
        raise ValidationError({"models": [str(exc)]}) from None


def _no_evaluation_message(protocol: str, part: str, split) -> str:
    if protocol == "global_time":
        why = (
            "the split is by global time and no shopper has interactions on both sides of the "
            f"{part} boundary (e.g. each shopper's history is one block of time)"
        )
        todo = "Use split=per_user_time (the default) or split=per_user_random"
    else:
        users = split.boundaries.get("users", {})
        why = (
            f"no shopper has a held-out product in {part} ({users.get(part, 0)} shoppers have "
            f"{split.boundaries.get('min_items', 3)} or more distinct products)"
        )
        todo = "Import more events (shoppers need at least 3 distinct products each)"
    return (
        f"The {part} set has no shopper to evaluate with split={protocol}: {why}. {todo}, "
        "then run train_cf again."
    )


def _rounded(figures: dict) -> dict:
    return {key: round(value, 4) for key, value in figures.items()}


def _active_on_this_split(ctx: JobContext, train, valid, test, *, k: int, ks) -> dict:
    """The active CF version measured on this job's split, for promote_if_better.

    Its served artifact was refitted on every interaction it knew, today's held-out ones
    included, so scoring that artifact here would be meaningless. What is compared is its
    recipe: the active version's chosen family and parameters, fitted on this job's training
    part and scored on this job's test part, exactly as this job's own choice was.
    """
    from training.ml.cf import evaluate_cf, recorded_recipe, refit

    active = selectors.active_version(Task.CF)
    if active is None:
        return {}
    recipe = recorded_recipe(active.hyperparameters)
    if recipe is None:
        ctx.log(f"active CF version #{active.pk} records no chosen configuration: not compared")
        return {}
    try:
        model = refit(recipe, train)
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        ctx.log(f"active CF version #{active.pk}'s configuration cannot be refitted ({exc})")
        return {}
    figures = evaluate_cf(model, train, test, k=k, ks=ks, exclude=valid)
    ctx.log(
        f"active #{active.pk} ({recipe.name}) on this split: ndcg@{k} {figures[f'ndcg@{k}']:.4f}"
    )
    return {"active_version": active.pk, "active_same_split": _rounded(figures)}


def run(ctx: JobContext) -> None:
    from training.ml.cf import (
        PopularityModel,
        build_interactions,
        candidate_count,
        evaluable_users,
        evaluate_cf,
        refit,
        sanity,
        select,
        skipped_families,
    )

    p = ctx.params
    protocol, k = p["split"], p["k"]
    ks = (SECOND_CUTOFF,) if k != SECOND_CUTOFF else ()
    key = f"ndcg@{k}"
    with ctx.stage("read interactions", 0.0, 0.05):
        split, snapshot = datasets.cf_interactions(
            days=p["days"], protocol=protocol, seed=p["seed"]
        )
        counts = snapshot["split"]["counts"]
        ctx.log(f"{snapshot['interactions']} interactions split {protocol}: {counts}")
        if counts["train"] < 10:
            raise ValidationError(
                f"Too few interactions to train on ({counts}); import events first."
            )
        train = build_interactions(split.train)
        valid = build_interactions(split.valid)
        test = build_interactions(split.test)
        for part, held, exclude in (("valid", valid, None), ("test", test, valid)):
            users = evaluable_users(train, held, exclude)
            ctx.log(f"{part}: {users} shoppers to evaluate")
            if users == 0:
                raise ValidationError(_no_evaluation_message(protocol, part, split))
    space = _space(p)
    total = candidate_count(space, train)
    done: list = []

    def on_candidate(candidate) -> None:
        done.append(candidate)
        ctx.log(
            f"{candidate.name}: valid ndcg@{k} {candidate.valid[key]:.4f}, recall@{k} "
            f"{candidate.valid[f'recall@{k}']:.4f} ({candidate.seconds:.1f}s)"
        )
        ctx.progress(len(done) / max(total, 1), len(done), total, None, {})

    with ctx.stage(f"select among {total} candidates on validation", 0.05, 0.8):
        candidates, best, best_model = select(
            space,
            train,
            valid,
            k=k,
            ks=ks,
            max_users=p["eval_users"] or None,
            on_candidate=on_candidate,
            should_cancel=ctx.should_cancel,
        )
    if best is None:
        raise ValidationError("No CF candidate ran: check the models parameter.")
    ctx.check_cancel()
    with ctx.stage("test", 0.8, 0.85):
        baseline = PopularityModel.fit(train)
        chosen_test = evaluate_cf(best_model, train, test, k=k, ks=ks, exclude=valid)
        baseline_test = evaluate_cf(baseline, train, test, k=k, ks=ks, exclude=valid)
        baseline_valid = evaluate_cf(
            baseline, train, valid, k=k, ks=ks, max_users=p["eval_users"] or None, seed=p["seed"]
        )
        compared = _active_on_this_split(ctx, train, valid, test, k=k, ks=ks)
    sane, reason = sanity(chosen_test, baseline_test, k=k, min_users=p["min_eval_users"])
    if not sane:
        ctx.log(f"WARNING: THE EVALUATION IS NOT SANE: {reason}")
        ctx.message(f"evaluation not sane: {reason}")
    with ctx.stage("refit on all interactions", 0.85, 0.95):
        everything = build_interactions([*split.train, *split.valid, *split.test])
        final = refit(best, everything)
    skipped = skipped_families(space, train)
    hyper = {
        name: p[name]
        for name in (
            "split",
            "search",
            "models",
            "factors",
            "iterations",
            "regularization",
            "alpha",
            "top_k",
            "shrink",
            "ease_lambda",
            "ease_max_items",
            "k",
            "seed",
        )
    }
    hyper["primary"] = best.family
    hyper["chosen"] = best.params
    version = ctx.create_version(
        task=Task.CF,
        name=p["name"] or f"cf {best.family} {timezone.now():%Y-%m-%d %H:%M}",
        hyperparameters=hyper,
        dataset_snapshot=snapshot,
    )
    with ctx.stage("save", 0.95, 1.0):
        from training.ml.encoders import atomic_artifact_dir

        with atomic_artifact_dir(ctx.artifact_path(version)) as scratch:
            final.save(scratch)
        # The exact rows of each part, so evaluate compares later versions on them.
        frozen = snapshots.snapshot_freeze(
            version=version,
            unit="event",
            parts={name: [row[4] for row in rows] for name, rows in split.parts().items()},
            meta={
                "seed": p["seed"],
                "ratios": list(split.ratios),
                "split": {"protocol": protocol, "seed": p["seed"]},
            },
        )
        ctx.log(f"froze the split: {frozen['counts']} event ids ({frozen['bytes']} bytes)")
    runner_up = max(
        (c for c in candidates if c.family != best.family),
        key=lambda c: c.valid[key],
        default=None,
    )
    choice = f"{best.name} has the best validation NDCG@{k} ({best.valid[key]:.4f})"
    if runner_up is not None:
        choice += f"; best other family {runner_up.name} {runner_up.valid[key]:.4f}"
    choice += f"; popularity {baseline_valid[key]:.4f}"
    metrics = {
        **_rounded({name: chosen_test[name] for name in chosen_test if name != "users"}),
        "users": chosen_test["users"],
        "split": {"protocol": protocol, "seed": p["seed"]},
        "sane": sane,
        "sanity": reason,
        "primary": best.family,
        "chosen": best.params,
        "choice": choice,
        "refit": "on all interactions",
        "baseline": {"popularity": _rounded(baseline_test)},
        "candidates": [candidate.as_dict() for candidate in candidates],
        "skipped": skipped,
        **compared,
        "models": {
            **{
                c.family: {"valid": _rounded(c.valid)}
                for c in sorted(candidates, key=lambda c: c.valid[key])
            },
            best.family: {"valid": _rounded(best.valid), "test": _rounded(chosen_test)},
            "popularity": {"valid": _rounded(baseline_valid), "test": _rounded(baseline_test)},
        },
    }
    ctx.log(
        f"chosen {best.name}: test recall@{k} {chosen_test[f'recall@{k}']:.4f}, ndcg@{k} "
        f"{chosen_test[key]:.4f}, coverage {chosen_test['coverage']:.3f}, novelty "
        f"{chosen_test['novelty']:.2f} bits on {chosen_test['users']:.0f} shoppers; popularity "
        f"recall@{k} {baseline_test[f'recall@{k}']:.4f}, ndcg@{k} {baseline_test[key]:.4f}, "
        f"coverage {baseline_test['coverage']:.3f}, novelty {baseline_test['novelty']:.2f} bits"
    )
    ctx.finish(version, metrics)
    if p["tune_fusion"]:
        # After the activation policy: the tuning fits the CF version the strategy then serves.
        ctx.then_launch("tune_recommendations", {})
