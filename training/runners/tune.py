"""``tune_recommendations``: learn a recommendations strategy's per-source fusion weights on the
validation part of the CF split.

The split is the one the strategy's CF version recorded (its protocol, seed and window), so the
weights are learned on the shoppers and held-out products that version was chosen on. Each
validation shopper's candidate list per source is rebuilt offline from the training part
(``training.fusion_data``), the weights are searched by coordinate ascent on NDCG@k of the
fused lists (``training.ml.fusion_tuning``), and the test part reports the learned weights
against the weights before, with lists still built from the training part. The weights are
written to the strategy with their record (``recommend.services.strategy_set_learned_weights``),
unless an operator set them since the last tuning and the job was not launched with
``overwrite_operator_weights``. No model version is created or changed.
"""

from __future__ import annotations

import numpy as np
from django.core.exceptions import ValidationError

from recommend.models import Surface
from recommend.selectors import strategy_by_reference
from training import datasets, selectors
from training.context import JobContext
from training.models import ModelVersion, Task


def _served(strategy, task: str, slot: str) -> ModelVersion | None:
    pinned = getattr(strategy, f"{slot}_id")
    if pinned is not None:
        return ModelVersion.objects.filter(pk=pinned).first()
    return selectors.active_version(task)


def _split_of(cf: ModelVersion | None, p: dict) -> tuple[str, int, int | None]:
    """(protocol, seed, days): the job's, else the CF version's recorded ones."""
    recorded = ((cf.metrics or {}).get("split") or {}) if cf else {}
    protocol = p["split"] if p["split"] != "recorded" else recorded.get("protocol", "per_user_time")
    seed = p["seed"] if p["seed"] is not None else int(recorded.get("seed", 42))
    days = (cf.dataset_snapshot or {}).get("days") if cf else None
    return protocol, seed, days


def run(ctx: JobContext) -> None:
    from recommend.models import SOURCE_WEIGHT_FIELDS, Strategy
    from recommend.services import strategy_set_learned_weights
    from training.fusion_data import source_lists
    from training.ml.cf import recorded_recipe
    from training.ml.fusion_tuning import build_fusion_data, tune_weights
    from training.vectors import load_vectors

    p = ctx.params
    k = p["k"]
    key = f"ndcg@{k}"
    strategy = strategy_by_reference(p["strategy"], Surface.RECOMMENDATIONS)
    cf = _served(strategy, Task.CF, "cf_version")
    retriever = _served(strategy, Task.RETRIEVER, "retriever_version")
    protocol, seed, days = _split_of(cf, p)
    ctx.log(
        f"strategy {strategy.name}: CF #{cf.pk if cf else '-'}, retriever "
        f"#{retriever.pk if retriever else '-'}; split {protocol} seed {seed}"
    )
    with ctx.stage("read interactions", 0.0, 0.1):
        split, snapshot = datasets.cf_interactions(days=days, protocol=protocol, seed=seed)
        train_items: dict = {}
        for shopper, product, *_ in split.train:
            train_items.setdefault(shopper, set()).add(product)
        eligible = sorted(
            {s for s, product, *_ in split.valid if product not in train_items.get(s, ())}
        )
        if not eligible:
            raise ValidationError(
                f"No shopper has a held-out product in the validation part of the {protocol} "
                "split (shoppers need history on both sides): nothing to tune on."
            )
        if p["max_users"] and len(eligible) > p["max_users"]:
            picked = np.random.default_rng(seed).choice(
                len(eligible), p["max_users"], replace=False
            )
            eligible = [eligible[i] for i in sorted(picked)]
        ctx.log(f"{snapshot['interactions']} interactions; tuning on {len(eligible)} shoppers")
    with ctx.stage("build each source's candidates", 0.1, 0.6):
        recipe = recorded_recipe(cf.hyperparameters) if cf else None
        if cf is not None and recipe is None:
            ctx.log(f"CF #{cf.pk} records no recipe (trained before it was kept): cf left alone")
        vectors = load_vectors(retriever.pk) if retriever is not None else None
        built = source_lists(
            train_rows=split.train,
            valid_rows=split.valid,
            test_rows=split.test,
            shoppers=eligible,
            recipe=recipe,
            vectors=vectors,
            min_score=strategy.semantic_min_score,
            log=ctx.log,
        )
        for source, why in built.skipped.items():
            ctx.log(f"{source}: not tuned, its weight is left alone ({why})")
    ctx.check_cancel()
    sources = built.built
    if not sources:
        raise ValidationError("No recommendation source could be built: " + str(built.skipped))
    before = {s: getattr(strategy, SOURCE_WEIGHT_FIELDS[s]) for s in sources}
    defaults = {s: Strategy._meta.get_field(SOURCE_WEIGHT_FIELDS[s]).default for s in sources}
    valid = build_fusion_data(
        built.lists, built.valid, sources=sources, rrf_k=strategy.rrf_k, exclude=built.train
    )
    test_exclude = {s: built.train.get(s, set()) | built.valid.get(s, set()) for s in built.test}
    test = build_fusion_data(
        built.lists, built.test, sources=sources, rrf_k=strategy.rrf_k, exclude=test_exclude
    )

    def step(done: int, total: int) -> None:
        ctx.progress(done / max(total, 1), done, total, None, {})

    with ctx.stage(f"coordinate ascent on validation NDCG@{k}", 0.6, 0.95):
        result = tune_weights(
            valid, before, k=k, rounds=p["rounds"], on_step=step, should_cancel=ctx.should_cancel
        )
    for tried in result.tried:
        shown = ", ".join(f"{s} {w:g}" for s, w in tried["weights"].items())
        ctx.log(f"  {shown}: {key} {tried['ndcg']:.4f}")
    learned = result.weights
    valid_defaults = valid.evaluate(defaults, k)
    test_learned, test_before = test.evaluate(learned, k), test.evaluate(before, k)
    figures = {
        "metric": key,
        "k": k,
        "users": result.users,
        "split": {"protocol": protocol, "seed": seed, "days": days},
        "cf_version": cf.pk if cf else None,
        "retriever_version": retriever.pk if retriever else None,
        "valid": {
            "learned": round(result.ndcg, 4),
            "before": round(result.start_ndcg, 4),
            "defaults": round(valid_defaults[1], 4),
            f"recall@{k}": {
                "learned": round(result.recall, 4),
                "before": round(result.start_recall, 4),
            },
        },
        "test": {
            "users": len(test.users),
            "learned": round(test_learned[1], 4),
            "before": round(test_before[1], 4),
        },
        "weights": learned,
        "without": {s: round(v, 4) for s, v in result.without.items()},
        "listed": valid.listed,
        "skipped": built.skipped,
        "tried": len(result.tried),
    }
    ctx.log(
        f"learned {learned}: validation {key} {result.ndcg:.4f} vs {result.start_ndcg:.4f} before; "
        f"test {test_learned[1]:.4f} vs {test_before[1]:.4f}"
    )
    written, why = False, "apply=false: weights reported, not written"
    if p["apply"]:
        with ctx.stage("write the weights", 0.95, 1.0):
            job = ctx.job
            written, why = strategy_set_learned_weights(
                strategy_id=strategy.pk,
                weights=learned,
                tuning=figures,
                job=job,
                actor=ctx.user,
                overwrite_operator_weights=p["overwrite_operator_weights"],
            )
    ctx.log(why)
    ctx.message(why)
    ctx.finish(
        None,
        {
            **figures,
            "strategy": strategy.pk,
            "before": before,
            "written": written,
            "outcome": why,
            "candidates": result.tried,
        },
    )
