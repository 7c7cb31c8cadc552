"""``forecast_demand``: daily demand forecast per product and category with the stock-out risk
(the insight of :mod:`recommend.insights`; the algorithm in
``recommend/insights/logic/forecast.py``).  Trains no model version."""

from __future__ import annotations

from recommend.insights.services.forecast import forecast_demand_run
from training.context import JobContext


def run(ctx: JobContext) -> None:
    p = ctx.params

    def progress(fraction: float, label: str) -> None:
        ctx.check_cancel()
        ctx.message(label)
        ctx.progress(fraction, int(fraction * 100), 100, None, {})

    with ctx.stage("forecast", 0.0, 1.0):
        run_row = forecast_demand_run(
            horizon_days=p["horizon_days"],
            history_days=p["history_days"],
            backtest_days=p["backtest_days"],
            job_id=ctx.job_id,
            progress=progress,
        )
    m = run_row.metrics
    ctx.log(
        f"run #{run_row.pk}: median MASE per category {m['median_mase_category']} "
        f"(seasonal naive {m['median_mase_naive_category']}); {m['runs_out']} products run out"
    )
    ctx.finish(
        None,
        {
            "run": run_row.pk,
            **{
                k: m[k]
                for k in (
                    "median_mase_category",
                    "median_mase_naive_category",
                    "categories_all_zero",
                    "median_mase_product",
                    "products",
                    "products_all_zero",
                    "runs_out",
                )
            },
        },
    )
