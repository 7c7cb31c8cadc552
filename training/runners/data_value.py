"""``data_value``: what each training data source of a model task is worth, and what more data
would add (registered in ``training.kinds_data_value``).

The runner gathers the task's training units once, splits them once (``held_out_split``: every
retrain of the job is scored on the same held-out units), and hands them to the plain-Python
ablation and learning curve (``training.ml.ranker_value``; statistics in
``training.ml.data_value``). The models it trains are thrown away: it creates no model version,
only a ``DataValueReport`` (Training → Data-value reports), linked from the version whose
training settings it reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError

from training.context import JobContext
from training.models import DataValueReport, ModelVersion

T = TypeVar("T")
#: fewest held-out units worth an interval
MIN_HELD_OUT = 10


def held_out_split(
    task: str, units: Sequence[T], *, key: Callable[[T], Hashable], seed: int, user=None
):
    """The job's one frozen split (70/15/15; the retrains learn from train + valid and are all
    scored on test). Ranker: a seeded hash of each list's ``key``. CF: each shopper's latest
    products held out (``user``: the shopper of a row, ``key``: its product), the protocol
    ``train_cf`` uses by default. The one place the split is made, so that it can read a stored
    snapshot's split instead when one exists."""
    from training.ml.splits import split_by_key, split_per_user

    if task == "cf":
        return split_per_user(
            units,
            user_fn=user,
            item_fn=key,
            time_fn=lambda row: row[3],
            method="per_user_time",
            seed=seed,
            ratios=(0.7, 0.15, 0.15),
        )
    return split_by_key(units, key_fn=key, seed=seed, ratios=(0.7, 0.15, 0.15))


def reference_version(task: str, version_id: int | None) -> ModelVersion | None:
    """The version whose settings the retrains reuse: the one named, else the task's active one."""
    from training import selectors

    if version_id:
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None or version.task != task:
            raise ValidationError(f"version #{version_id} is not a {task} version")
        return version
    return selectors.active_version(task)


def flagged_lists(lists) -> set[str]:
    """Lists the data quality flags touch: a flagged shopper's, or with a flagged product engaged."""
    from catalog.models import Product, Shopper

    shoppers = set(Shopper.objects.filter(exclude_from_training=True).values_list("id", flat=True))
    products = set(Product.objects.filter(exclude_from_training=True).values_list("id", flat=True))
    return {
        shown.list_id
        for shown in lists
        if shown.shopper_id in shoppers or products & set(shown.engagement)
    }


def ranker_figures(ctx: JobContext, version: ModelVersion | None) -> dict[str, Any]:
    """The ranker's lists (as ``train_ranker`` builds them), split, ablated and curved."""
    from recommend import selectors as serving_selectors
    from recommend.serving.features import EXTRA_FEATURES
    from training.ml.data_value_sources import sources_for
    from training.ml.ranker import FEATURES, RankerConfig
    from training.ml.ranker_value import METRIC, ValueList, ranker_data_value
    from training.ranking_data import build_dataset

    p = ctx.params
    models = serving_selectors.served_models(serving_selectors.default_strategy("search"))
    with ctx.stage("build lists", 0.0, 0.4):
        lists, rows, _ = build_dataset(
            params={
                "max_lists": p["max_lists"],
                "list_size": p["list_size"],
                "days": None,
            },
            retriever=models.retriever,
            cf_version=models.cf,
            progress=ctx.progress,
            check_cancel=ctx.check_cancel,
        )
    flagged = flagged_lists(lists)
    units = [
        ValueList(
            list_id=shown.list_id,
            features=[r.features for r in rows[shown.list_id]],
            kinds=[frozenset(shown.kinds.get(pk, ())) for pk in shown.products],
            flagged=shown.list_id in flagged,
        )
        for shown in lists
    ]
    split = held_out_split("ranker", units, key=lambda unit: unit.list_id, seed=p["seed"])
    train, test = split.train + split.valid, split.test
    ctx.log(f"{len(lists)} lists: {len(train)} to train on, {len(test)} held out")
    if len(test) < MIN_HELD_OUT or len(train) < MIN_HELD_OUT:
        raise ValidationError(
            f"Only {len(lists)} result lists with an engagement: too few to value the data "
            "(serve searches, or import search events, first)."
        )
    hyper = version.hyperparameters if version is not None else {}
    config = RankerConfig(
        model=hyper.get("model", "linear"),
        epochs=p["epochs"] or min(int(hyper.get("epochs", 30)), 30),
        learning_rate=float(hyper.get("learning_rate", 0.05)),
        alpha=float(hyper.get("alpha", 1.0)),
        beta=float(hyper.get("beta", 1.0)),
        seed=p["seed"],
        features=FEATURES + EXTRA_FEATURES,
    )

    def progress(done: int, total: int, label: str) -> None:
        ctx.message(f"retrain {min(done + 1, total)}/{total}: {label}")
        ctx.progress(done / max(total, 1), done, total, None, {})

    with ctx.stage("retrain", 0.4, 1.0):
        figures = ranker_data_value(
            train,
            test,
            sources_for("ranker"),
            config,
            curve=p["curve"],
            bootstrap=p["bootstrap"],
            seed=p["seed"],
            progress=progress,
            should_cancel=ctx.should_cancel,
        )
    return {
        **figures,
        "metric": METRIC,
        "unit": "result lists",
        "split": {
            "method": "seeded hash of the list id (70/15/15; train + valid learn, test scores)",
            "seed": p["seed"],
            "train": len(train),
            "held_out": figures["units"],
            "flagged": len(flagged),
        },
        "notes": [
            f"Each retrain: {config.model} ranker, {config.epochs} epochs, seed {config.seed}; "
            "held-out lists keep every label.",
        ],
    }


def cf_figures(ctx: JobContext, version: ModelVersion | None) -> dict[str, Any]:
    """Every CF event (flags noted, not applied), split per shopper, ablated and curved."""
    from django.db.models import Q

    from training import datasets
    from training.ml.cf.selection import Candidate, recorded_recipe
    from training.ml.cf_value import METRIC, Interaction, cf_data_value
    from training.ml.data_value_sources import sources_for

    p = ctx.params
    weights = {str(kind): weight for kind, weight in datasets.CF_WEIGHTS.items()}
    flagged = (
        Q(exclude_from_training=True)
        | Q(shopper__exclude_from_training=True)
        | Q(product__exclude_from_training=True)
    )
    with ctx.stage("read events", 0.0, 0.05):
        events = datasets.training_events().filter(
            type__in=list(weights), product__isnull=False, shopper__isnull=False
        )
        bad = set(events.filter(flagged).values_list("id", flat=True))
        rows = [
            (shopper, product, kind, ts, pk in bad)
            for pk, shopper, product, kind, ts in events.values_list(
                "id", "shopper_id", "product_id", "type", "timestamp"
            ).iterator(chunk_size=50_000)
        ]
    split = held_out_split(
        "cf", rows, key=lambda row: row[1], user=lambda row: row[0], seed=p["seed"]
    )
    train = [Interaction(*row[:3], flagged=row[4]) for row in split.train + split.valid]
    test = [Interaction(*row[:3], flagged=row[4]) for row in split.test]
    ctx.log(f"{len(rows)} events: {len(train)} to train on, {len(test)} held out")
    if len(test) < MIN_HELD_OUT or len(train) < MIN_HELD_OUT:
        raise ValidationError(
            f"Only {len(rows)} interactions: too few to value the data (import events first)."
        )
    recipe = recorded_recipe(version.hyperparameters if version is not None else None)
    recipe = recipe or Candidate("item_item", {"top_k": 50, "shrink": 10.0})

    def progress(done: int, total: int, label: str) -> None:
        ctx.message(f"refit {min(done + 1, total)}/{total}: {label}")
        ctx.progress(done / max(total, 1), done, total, None, {})

    with ctx.stage("refit", 0.05, 1.0):
        figures = cf_data_value(
            train,
            test,
            sources_for("cf"),
            recipe,
            weights,
            curve=p["curve"],
            bootstrap=p["bootstrap"],
            seed=p["seed"],
            max_users=p["max_users"] or None,
            progress=progress,
            should_cancel=ctx.should_cancel,
        )
    return {
        **figures,
        "metric": METRIC,
        "unit": "shoppers",
        "split": {
            "method": "each shopper's latest products held out (70/15/15; train + valid learn)",
            "seed": p["seed"],
            "train": len(train),
            "held_out": figures["units"],
            "flagged": len(bad),
        },
        "notes": [
            f"Each refit: {recipe.name} on the training events (weights {weights}); relevant "
            "products are each held-out shopper's held-out products of any type.",
        ],
    }


def run(ctx: JobContext) -> None:
    from training.ml.data_value import summary_sentences

    p = ctx.params
    started = time.monotonic()
    task = p["task"]
    version = reference_version(task, p["version"])
    if version is not None:
        ctx.log(f"settings of {task} version #{version.pk} ({version.name})")
    if task == "retriever":
        from training.runners.data_value_retriever import retriever_figures

        figures = retriever_figures(ctx, version)
    else:
        figures = (ranker_figures if task == "ranker" else cf_figures)(ctx, version)
    summary = summary_sentences(
        task=task,
        metric=figures["metric"],
        baseline=figures["baseline"],
        ablation=figures["ablation"],
        curve=figures["curve"],
    )
    report = DataValueReport.objects.create(
        task=task,
        version=version,
        job_id=ctx.job_id,
        metric=figures["metric"],
        baseline=figures["baseline"],
        held_out_units=figures["units"],
        unit=figures["unit"],
        split=figures["split"],
        ablation=figures["ablation"],
        curve=figures["curve"],
        summary=summary,
        notes=figures["notes"],
        duration_seconds=round(time.monotonic() - started, 1),
    )
    for line in summary:
        ctx.log(line)
    measured = [r for r in figures["ablation"] if not r.get("skipped")]
    ctx.finish(
        None,
        {
            "report": report.pk,
            "task": task,
            figures["metric"]: figures["baseline"],
            "held_out": figures["units"],
            **{f"value_{r['source']}": r["change"] for r in measured},
            "doubling_gain": (figures["curve"] or {}).get("doubling_gain"),
            "duration_s": report.duration_seconds,
        },
    )
