"""Writes of the demand-forecast insight: ``forecast_demand_run`` reads the daily purchases
per product (one SQL aggregate over the purchase events, in a job), sums them per category,
backtests and forecasts each series (:mod:`recommend.insights.logic.forecast`) and stores the
run and the forecasts with each product's stock-out risk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
from django.db import connection, transaction

from catalog.models import Category, Event, Product
from recommend.insights.logic import forecast as logic
from recommend.insights.models import DemandForecast, ForecastRun

HISTORY_SHOWN = 28


def daily_purchases(history_days: int) -> tuple[date, dict[int, np.ndarray]]:
    """(the first day after the history, product id → purchases per day over the last
    ``history_days`` days up to the day of the last purchase)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(timestamp)::date FROM {Event._meta.db_table} WHERE type = 'purchase'"
        )
        (last,) = cursor.fetchone()
        if last is None:
            return date.today(), {}
        first = last - timedelta(days=history_days - 1)
        cursor.execute(
            f"""
            SELECT product_id, timestamp::date, count(*)
            FROM {Event._meta.db_table}
            WHERE type = 'purchase' AND product_id IS NOT NULL
              AND timestamp >= %s AND timestamp < %s
            GROUP BY 1, 2
            """,
            [first, last + timedelta(days=1)],
        )
        series: dict[int, np.ndarray] = {}
        for product, day, n in cursor.fetchall():
            series.setdefault(product, np.zeros(history_days))[(day - first).days] += n
    return last + timedelta(days=1), series


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 4) if values else None


def forecast_demand_run(
    *,
    horizon_days: int = 14,
    history_days: int = 56,
    backtest_days: int = 14,
    job_id: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ForecastRun:
    """Forecast every product with a purchase in the history and every category, backtest them,
    and replace the previous run's forecasts."""
    progress = progress or (lambda _f, _m: None)
    progress(0.0, "reading the daily purchases")
    first_day, by_product = daily_purchases(history_days)
    products = {
        p["pk"]: p
        for p in Product.objects.filter(pk__in=list(by_product)).values(
            "pk", "title", "stock", "category_id"
        )
    }
    by_category: dict[int, np.ndarray] = {}
    for pk, y in by_product.items():
        category = products[pk]["category_id"]
        if category is not None:
            by_category[category] = by_category.get(category, np.zeros(history_days)) + y
    names = dict(Category.objects.values_list("pk", "name"))
    rows: list[DemandForecast] = []
    category_report: list[dict] = []
    items = [("category", pk, y) for pk, y in sorted(by_category.items())]
    items += [("product", pk, y) for pk, y in sorted(by_product.items())]
    product_mase: list[float] = []
    all_zero = {"category": 0, "product": 0}
    for i, (kind, pk, y) in enumerate(items):
        if i % 200 == 0:
            progress(
                0.05 + 0.85 * i / max(1, len(items)), f"forecasting {kind} {i + 1}/{len(items)}"
            )
        bt = logic.backtest(y, backtest_days)
        fc = logic.forecast(y, horizon_days)
        if bt.mase is None:
            all_zero[kind] += 1
        stock = days = None
        runs_out = False
        if kind == "category":
            name = names.get(pk, str(pk))
            category_report.append(
                {
                    "category": name,
                    "mase": bt.mase,
                    "mase_naive": bt.mase_naive,
                    "method": bt.method,
                }
            )
        else:
            name = products[pk]["title"]
            stock = products[pk]["stock"]
            days, runs_out = logic.stockout(stock, fc.mean)
            if bt.mase is not None:
                product_mase.append(bt.mase)
        rows.append(
            DemandForecast(
                kind=kind,
                product_id=pk if kind == "product" else None,
                category_id=pk if kind == "category" else None,
                name=name[:500],
                method=fc.method,
                mean=[round(float(v), 4) for v in fc.mean],
                low=[round(float(v), 4) for v in fc.low],
                high=[round(float(v), 4) for v in fc.high],
                history=[float(v) for v in y[-HISTORY_SHOWN:]],
                horizon_total=round(float(fc.mean.sum()), 4),
                mase=bt.mase,
                mase_naive=bt.mase_naive,
                stock=stock,
                days_of_cover=days,
                runs_out=runs_out,
            )
        )
    scored = [c for c in category_report if c["mase"] is not None]
    metrics = {
        "categories": category_report,
        "median_mase_category": _median([c["mase"] for c in scored]),
        "median_mase_naive_category": _median([c["mase_naive"] for c in scored]),
        "categories_all_zero": all_zero["category"],
        "products": len(by_product),
        "products_all_zero": all_zero["product"],
        "median_mase_product": _median(product_mase),
        "runs_out": sum(r.runs_out for r in rows),
    }
    progress(0.95, "writing")
    with transaction.atomic():
        DemandForecast.objects.all().delete()
        run = ForecastRun.objects.create(
            job_id=job_id,
            horizon_days=horizon_days,
            history_days=history_days,
            backtest_days=backtest_days,
            first_day=first_day,
            median_mase_category=metrics["median_mase_category"],
            median_mase_naive_category=metrics["median_mase_naive_category"],
            metrics=metrics,
        )
        for row in rows:
            row.run = run
        DemandForecast.objects.bulk_create(rows, batch_size=2000)
    progress(1.0, f"{len(rows)} series forecast")
    return run
