"""``train_ranker``: learn the search ranker from the search log and events.

Registered in ``training.kinds`` (``run_job train_ranker``, the admin's launch form,
``POST /api/v1/jobs``). The model, loss and numpy scorer are ``training.ml.ranker``; the
training lists and their features are ``training.ranking_data``. Lists are split by time
(70/15/15); the report compares AUC and NDCG@10 of the ranker with reciprocal rank fusion of
the lexical and semantic scores (what serving does without a ranker) on the test period.
"""

from __future__ import annotations

import math
from collections import defaultdict

from django.core.exceptions import ValidationError

from training.ranking_data import build_dataset, list_metrics


def run(ctx) -> None:
    from django.utils import timezone

    from recommend import selectors
    from training.ml.encoders import atomic_artifact_dir
    from training.ml.ranker import RankerConfig, train_ranker
    from training.ml.ranker_heads import TwoHeadConfig, purchase_labels, train_two_headed
    from training.ml.splits import split_by_time
    from training.models import Task

    p = ctx.params
    strategy = selectors.default_strategy("search")
    models = selectors.served_models(strategy)
    with ctx.stage("build lists", 0.0, 0.5):
        lists, rows, baseline = build_dataset(
            params=p,
            retriever=models.retriever,
            cf_version=models.cf,
            progress=ctx.progress,
            check_cancel=ctx.check_cancel,
        )
        sources = defaultdict(int)
        for shown in lists:
            sources[shown.source] += 1
        ctx.log(f"{len(lists)} lists with engagement ({dict(sources)})")
        if len(lists) < p["min_lists"]:
            raise ValidationError(
                f"Only {len(lists)} result lists with an engagement (need {p['min_lists']}); "
                "serve searches (or import search events) first."
            )
    split = split_by_time(lists, time_fn=lambda shown: shown.timestamp, ratios=(0.7, 0.15, 0.15))
    train_rows = [r for shown in split.train for r in rows[shown.list_id]]
    valid_rows = [r for shown in split.valid for r in rows[shown.list_id]]
    from dataclasses import replace

    from recommend.serving.features import EXTRA_FEATURES
    from training.ml.ranker import FEATURES, POSITION

    with_position = FEATURES + EXTRA_FEATURES
    feature_sets = {"on": with_position, "off": tuple(f for f in with_position if f != POSITION)}
    modes = ["on", "off"] if p["position"] == "auto" else [p["position"]]
    config = RankerConfig(
        model=p["model"],
        epochs=p["epochs"],
        learning_rate=p["learning_rate"],
        alpha=p["alpha"],
        beta=p["beta"],
        seed=p["seed"],
    )
    train_purchases = int(purchase_labels([r.engagement for r in train_rows]).sum())
    two_headed = p["heads"] == "two" and train_purchases > 0
    if p["heads"] == "two" and not two_headed:
        ctx.log("no purchase in the training lists: one (click) head only")
    if two_headed:
        config = TwoHeadConfig(**vars(config), gamma=p["gamma"])
    fit = train_two_headed if two_headed else train_ranker

    def scored(part, scorer=None):
        """(scores, clicks, engagement) per list: the scorer's (position fixed) or fusion's."""
        out = []
        for shown in part:
            items = rows[shown.list_id]
            if scorer is not None:
                scores = scorer.score_features(
                    [r.features for r in items], fix_position=True
                ).tolist()
            else:
                scores = baseline[shown.list_id]
            out.append((scores, [r.click for r in items], [r.engagement for r in items]))
        return out

    results, validation = {}, {}
    for n, mode in enumerate(modes):
        share = 0.4 / len(modes)
        with ctx.stage(f"train (position {mode})", 0.5 + n * share, 0.5 + (n + 1) * share):
            results[mode] = fit(
                train_rows,
                replace(config, features=feature_sets[mode]),
                progress_cb=ctx.progress,
                should_cancel=ctx.should_cancel,
                valid_rows=valid_rows or None,
            )
        validation[mode] = (
            list_metrics(scored(split.valid, results[mode].scorer)) if split.valid else {}
        )
    # With the position as a feature, clicks are explained by where items were shown; when the
    # log was served in one fixed order, position and relevance are confounded and fixing the
    # position at serving leaves a weaker model. The validation period decides.
    chosen = max(modes, key=lambda mode: (validation[mode].get("ndcg@10", 0.0), mode == "on"))
    result = results[chosen]
    ctx.log(
        f"validation NDCG@10: { ({m: v.get('ndcg@10') for m, v in validation.items()}) }; position {chosen}"
    )
    with ctx.stage("evaluate", 0.9, 0.95):
        test = list(split.test) or list(split.valid)
        ranker_test = list_metrics(scored(test, result.scorer))
        fusion_test = list_metrics(scored(test))
        ctx.log(f"test: ranker {ranker_test}; fusion {fusion_test}")
        test_rows = [r for shown in test for r in rows[shown.list_id]]
        heads = heads_report(
            result,
            test_rows,
            valid_rows=valid_rows,
            two_headed=two_headed,
            single=lambda: train_ranker(
                train_rows,
                replace(RankerConfig(**_single_fields(config)), features=feature_sets[chosen]),
            ),
            seed=p["seed"],
        )
        ctx.log(f"heads: {heads.get('summary', '')}")
    metrics = {
        "auc": ranker_test.get("auc"),
        "ndcg@10": ranker_test.get("ndcg@10"),
        "fusion_auc": fusion_test.get("auc"),
        "fusion_ndcg@10": fusion_test.get("ndcg@10"),
        "test_lists": len(test),
        "train_lists": len(split.train),
        "valid_lists": len(split.valid),
        "sources": dict(sources),
        "train": {
            k: v
            for k, v in result.metrics.items()
            if isinstance(v, int | float) and math.isfinite(v)
        },
        "feature_weights": result.metrics.get("feature_weights"),
        "position_feature": chosen,
        "validation_ndcg@10": {mode: v.get("ndcg@10") for mode, v in validation.items()},
        "heads": heads,
        "click_auc": heads["model"].get("click_auc"),
        "purchase_auc": heads["model"].get("purchase_auc"),
        "ndcg@10_purchases": heads["model"].get("ndcg@10_purchases"),
    }
    # The activation policy's sanity check: a first ranker serves only if it is at least fusion.
    ranker_ndcg, fusion_ndcg = ranker_test.get("ndcg@10"), fusion_test.get("ndcg@10")
    metrics["sane"] = bool(test) and (ranker_ndcg or 0.0) >= (fusion_ndcg or 0.0)
    metrics["sanity"] = (
        f"NDCG@10 {ranker_ndcg} against fusion {fusion_ndcg} on {len(test)} test lists"
    )
    snapshot = {
        "source": "search log + events (request id); search sessions rebuilt with current retrieval",
        "lists": len(lists),
        "split": split.summary(),
        "sources": dict(sources),
        "retriever_version": models.retriever.id if models.retriever else None,
        "cf_version": models.cf.id if models.cf else None,
    }
    version = ctx.create_version(
        task=Task.RANKER,
        name=p["name"] or f"ranker {p['model']} {timezone.now():%Y-%m-%d %H:%M}",
        hyperparameters={
            **{
                k: p[k]
                for k in (
                    "alpha",
                    "beta",
                    "model",
                    "epochs",
                    "learning_rate",
                    "seed",
                    "list_size",
                    "position",
                    "heads",
                    "gamma",
                )
            },
            "position_used": chosen,
            "heads_trained": 2 if two_headed else 1,
        },
        dataset_snapshot=snapshot,
    )
    with ctx.stage("save", 0.95, 1.0), atomic_artifact_dir(ctx.artifact_path(version)) as scratch:
        result.scorer.save(scratch)
    ctx.finish(version, metrics)


def _single_fields(config) -> dict:
    """A ``TwoHeadConfig``'s fields that ``RankerConfig`` has (today's single-head ranker)."""
    from dataclasses import fields

    from training.ml.ranker import RankerConfig

    return {f.name: getattr(config, f.name) for f in fields(RankerConfig)}


def heads_report(result, test_rows, *, two_headed: bool, single, seed: int, valid_rows=()) -> dict:
    """Both heads on the test lists (``evaluate_heads``: click AUC, purchase AUC, NDCG@10 by
    purchases per objective). A two-headed version is set beside today's single-head ranker
    trained on the same lists (``single()``), with a paired bootstrap of the per-list NDCG@10 by
    purchases, and the blend weight the validation lists choose (``blend_on_valid``: what an
    operator sets as the strategy's purchase weight; never chosen on the test lists): the version
    page shows them."""
    from training.ml.metrics import paired_bootstrap
    from training.ml.ranker_heads import choose_blend, evaluate_heads, purchase_ndcg_per_list

    def rounded(figures: dict) -> dict:
        return {
            k: round(v, 4) if isinstance(v, float) else rounded(v) if isinstance(v, dict) else v
            for k, v in figures.items()
        }

    report: dict = {
        "heads": 2 if two_headed else 1,
        "model": rounded(evaluate_heads(result.scorer, test_rows)),
    }
    if not two_headed or not test_rows:
        return report
    chosen, figures = choose_blend(result.scorer, valid_rows) if valid_rows else (None, {})
    if chosen is not None:
        report["blend_on_valid"] = {
            "chosen": chosen,
            "ndcg@10_purchases": {str(w): round(v, 4) for w, v in figures.items()},
        }
    baseline = single().scorer
    report["single_head"] = rounded(evaluate_heads(baseline, test_rows))
    ours = purchase_ndcg_per_list(result.scorer, test_rows)
    theirs = purchase_ndcg_per_list(baseline, test_rows)
    mean, low, high = paired_bootstrap(ours, theirs, seed=seed)
    report["purchase_ndcg_vs_single"] = {
        "mean": round(mean, 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "lists": len(ours),
    }
    report["summary"] = (
        f"NDCG@10 by purchases {report['model'].get('ndcg@10_purchases')} against "
        f"{report['single_head'].get('ndcg@10_purchases')} for one head "
        f"(difference {mean:+.4f}, 95% interval {low:+.4f} to {high:+.4f}, {len(ours)} lists); "
        f"click AUC {report['model'].get('click_auc')} against "
        f"{report['single_head'].get('click_auc')}"
    )
    return report
