"""``finetune_retriever``: mine (or synthesise) pairs, split by query, fine-tune, embed the
catalogue, evaluate."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from training import datasets, evaluation, selectors, snapshots, vectors
from training.context import JobContext
from training.models import ModelVersion, Task
from training.runners.embed import embed_version
from training.runners.retriever_pairs import retriever_examples


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device, reset_peak
    from training.ml.retriever import DEFAULT_LR, RetrieverTrainConfig, train_retriever

    p = ctx.params
    device = pick_device(p["device"])
    ctx.set_device(device)
    reset_peak(device)

    parent = _parent_version(p["base_version"])
    base = (parent.base if parent else "") or settings.DEFAULT_ENCODER
    init_dir = (
        str(settings.ARTIFACTS_DIR / parent.artifact_dir)
        if parent and parent.artifact_dir
        else None
    )

    with ctx.stage("mine pairs", 0.0, 0.05):
        built = retriever_examples(ctx, p, parent=parent, device=device)
        examples = built.examples

    config = RetrieverTrainConfig(
        base=base,
        init_artifact_dir=init_dir,
        mode=p["mode"],
        lora_r=p["lora_r"],
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        lr=p["learning_rate"],
        seed=p["seed"],
        hard_negatives=p["hard_negatives"],
        max_seq_len=p["max_seq_len"],
        device=device.device,
    )
    lr = p["learning_rate"] if p["learning_rate"] is not None else DEFAULT_LR[p["mode"]]
    hyper = {
        "mode": p["mode"],
        "epochs": p["epochs"],
        "batch_size": p["batch_size"],
        "learning_rate": lr,
        "lora_r": p["lora_r"] if p["mode"] == "lora" else None,
        "hard_negatives": p["hard_negatives"],
        "max_seq_len": p["max_seq_len"],
        "max_pairs": p["max_pairs"],
        "pairs": p["pairs"],
        "seed": p["seed"],
        "train_examples": len(examples),
    }
    version = ctx.create_version(
        task=Task.RETRIEVER,
        name=p["name"] or f"{p['mode']} fine-tune {timezone.now():%Y-%m-%d %H:%M}",
        base=base,
        parent=parent,
        hyperparameters=hyper,
        dataset_snapshot=built.snapshot,
    )
    out_dir = ctx.artifact_path(version)

    with ctx.stage("train", 0.05, 0.6):
        result = train_retriever(
            config, examples, out_dir, progress_cb=ctx.progress, should_cancel=ctx.should_cancel
        )
    ctx.log(
        f"trained {result.steps} steps at {result.pairs_per_sec:.0f} pairs/s, final loss {result.final_loss:.4f}"
    )
    # The queries of each part and the rows they were mined from, so evaluate compares later
    # versions on exactly these pairs. Synthetic-only pairs come from no event: nothing to freeze.
    data = built.mined
    if data is not None:
        frozen = snapshots.snapshot_freeze(
            version=version,
            unit="query",
            parts=data.frozen_parts(),
            rows=data.ids,
            meta={"seed": p["seed"], "ratios": list(data.split.ratios), "days": p["days"]},
        )
        ctx.log(
            f"froze the split: {frozen['counts']} queries over {frozen['rows']} rows "
            f"({frozen['bytes']} bytes)"
        )
    else:
        ctx.log("synthetic pairs only: no logged rows to freeze as a snapshot")
    ctx.timings["train_pairs_per_s"] = round(result.pairs_per_sec, 1)

    with ctx.stage("embed catalogue", 0.6, 0.9):
        items = vectors.active_product_texts()
        figures = embed_version(
            ctx,
            version,
            items=items,
            batch_size=128,
            device=device,
            build_index=True,
            progress_cb=ctx.progress,
            should_cancel=ctx.should_cancel,
        )
    ctx.log(f"embedded {figures['products']} products at {figures['products_per_s']}/s")
    ctx.check_cancel()

    with ctx.stage("evaluate", 0.9, 1.0):
        from training.runners.embed import load_version_encoder

        model = load_version_encoder(version, device)
        judgments = built.test_judgments
        ctx.log(f"held-out figures on {len(judgments)} {built.test_label}")
        comparison = evaluation.compare_retrievers(model, version, judgments, k=10, device=device)
        metrics = dict(comparison["candidate"])
        metrics["held_out"] = built.test_label
        if "baseline" in comparison:
            metrics["active_same_split"] = comparison["baseline"]
            metrics["active_version"] = comparison["baseline_version"]
        if p["judged_csv"]:
            judged = datasets.judged_csv(p["judged_csv"])
            metrics["judged"] = evaluation.compare_retrievers(
                model, version, judged, k=10, device=device
            )
        metrics.update(
            train_loss=round(result.final_loss, 4),
            train_steps=result.steps,
            train_pairs_per_s=round(result.pairs_per_sec, 1),
            embed=figures,
        )
    _log_side_by_side(ctx, metrics)
    ctx.finish(version, metrics)


def _parent_version(version_id: int | None) -> ModelVersion | None:
    """The version to fine-tune from; an int8 child (an ONNX graph, not trainable) stands for
    the fp32 parent it was quantised from."""
    if version_id:
        version = ModelVersion.objects.filter(pk=version_id, task=Task.RETRIEVER).first()
        if version is None:
            raise ValidationError(f"Retriever version #{version_id} does not exist.")
    else:
        version = selectors.active_version(Task.RETRIEVER)
    if version is not None and version.precision == "int8" and version.parent_id:
        return version.parent
    return version


def _log_side_by_side(ctx: JobContext, metrics: dict) -> None:
    base = metrics.get("active_same_split")
    for name in ("recall@10", "ndcg@10", "mrr"):
        if base:
            ctx.log(
                f"held-out {name}: new {metrics[name]:.4f} vs active #{metrics['active_version']} {base[name]:.4f}"
            )
        else:
            ctx.log(f"held-out {name}: new {metrics[name]:.4f}")
