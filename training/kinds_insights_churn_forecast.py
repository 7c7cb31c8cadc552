"""The job kinds of the churn and demand insights (issue 16 §3–4): ``churn_risk`` and
``forecast_demand``.  They write
the insight's tables (``recommend.insights``) and create no model version."""

from __future__ import annotations

from training.jobs import Param, register_job_kind

register_job_kind(
    "churn_risk",
    title="Score churn risk",
    summary="Estimates each shopper's chance of not coming back within the horizon, with the "
    "reasons, and builds the win-back lists.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.churn_risk.run",
    help="Churn risk (Insights → shoppers by churn risk): per-shopper features (recency, "
    "frequency, value, trend, category breadth, last visit's outcome) at a cut-off; a calibrated "
    "gradient boosting classifier trained on whether shoppers came back within the horizon after "
    "the cut-off 2×horizon before the last event, evaluated (AUC, calibration) on the later "
    "window beside a recency-only baseline, refitted on that window and applied to every "
    "shopper's history; win-back lists per segment with products from recommendations.",
    params=[
        Param(
            "horizon_days",
            int,
            14,
            "a shopper churned when they do not come back within this many days",
            min=1,
            max=180,
            label="Horizon (days)",
        ),
        Param("seed", int, 0, "random seed of the classifier", label="Seed"),
        Param(
            "winback_min_risk",
            float,
            0.5,
            "shoppers at or above this risk enter the win-back lists",
            min=0.0,
            max=1.0,
            label="Win-back: lowest risk",
        ),
        Param(
            "winback_per_group",
            int,
            20,
            "shoppers per segment in the win-back list (highest risk × value first)",
            min=1,
            max=1000,
            label="Win-back: shoppers per segment",
        ),
        Param(
            "winback_products",
            int,
            5,
            "products from recommendations per win-back shopper (0: none)",
            min=0,
            max=20,
            label="Win-back: products each",
        ),
    ],
)

register_job_kind(
    "forecast_demand",
    title="Forecast demand",
    summary="Forecasts each product's and category's daily demand for the next days and lists "
    "the products about to run out of stock.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.forecast_demand.run",
    help="Demand forecast (Insights → demand forecasts): daily purchases per product and category "
    "over the history, weekly seasonality (m=7): exponential smoothing (statsmodels) for regular "
    "series, TSB (Croston with a decaying demand probability) for intermittent ones; backtested "
    "on the last days with MASE per category against the seasonal naive forecast (all-zero "
    "series reported apart); stock-out risk = the forecast over the horizon against the stock.",
    params=[
        Param("horizon_days", int, 14, "days forecast", min=1, max=90, label="Horizon (days)"),
        Param(
            "history_days",
            int,
            56,
            "days of purchases the forecast learns from",
            min=21,
            max=730,
            label="History (days)",
        ),
        Param(
            "backtest_days",
            int,
            14,
            "last days of the history held out for the backtest",
            min=1,
            max=60,
            label="Backtest (days)",
        ),
    ],
)
