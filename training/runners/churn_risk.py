"""``churn_risk``: score every shopper's risk of not returning (the insight of
:mod:`recommend.insights`; the algorithm in ``recommend/insights/logic/churn.py``).  Trains no
model version: the scores and the run's evaluation land in the insight's tables."""

from __future__ import annotations

from recommend.insights.services.churn import churn_risk_run
from training.context import JobContext


def run(ctx: JobContext) -> None:
    p = ctx.params

    def progress(fraction: float, label: str) -> None:
        ctx.check_cancel()
        ctx.message(label)
        ctx.progress(fraction, int(fraction * 20), 20, None, {})

    with ctx.stage("churn risk", 0.0, 1.0):
        run_row = churn_risk_run(
            horizon_days=p["horizon_days"],
            seed=p["seed"],
            winback_min_risk=p["winback_min_risk"],
            winback_per_group=p["winback_per_group"],
            winback_products=p["winback_products"],
            job_id=ctx.job_id,
            progress=progress,
        )
    m = run_row.metrics
    ctx.log(
        f"run #{run_row.pk}: {run_row.shoppers_scored} shoppers; later window AUC {m['auc']} "
        f"vs recency only {m['auc_recency']}; Brier {m['brier']}, ECE {m['ece']}"
    )
    ctx.finish(
        None,
        {
            "run": run_row.pk,
            "shoppers_scored": run_row.shoppers_scored,
            **{k: m[k] for k in ("auc", "auc_recency", "auc_lift", "brier", "ece")},
            "eval_shoppers": m["eval_shoppers"],
            "eval_churn_rate": m["eval_churn_rate"],
        },
    )
