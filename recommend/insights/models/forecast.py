"""Demand forecast: one row per ``forecast_demand`` run (its backtest) and the latest run's
forecast per product and per category.  Written by ``recommend.insights.services.forecast``."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class ForecastRun(models.Model):
    """One ``forecast_demand`` run: horizon, history, and the backtest on its last
    ``backtest_days`` (MASE per category against the seasonal naive forecast, all-zero series
    apart) in ``metrics``.  Only the latest run keeps its forecasts."""

    job = models.ForeignKey(
        "training.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    horizon_days = models.PositiveIntegerField()
    history_days = models.PositiveIntegerField()
    backtest_days = models.PositiveIntegerField()
    first_day = models.DateField(help_text="The first day of the forecast.")
    median_mase_category = models.FloatField(null=True, blank=True)
    median_mase_naive_category = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "demand forecast run"

    def __str__(self) -> str:
        return f"forecast run #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class DemandForecast(models.Model):
    """A product's or category's daily demand forecast over the run's horizon (``mean`` with a
    90 % interval ``low``–``high`` per day), the method (ETS, TSB), the last weeks' actual demand,
    its backtest MASE and, for a product, its stock, the days the stock covers and whether it
    runs out within the horizon."""

    class Kind(models.TextChoices):
        PRODUCT = "product", "product"
        CATEGORY = "category", "category"

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="forecasts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=500)
    method = models.CharField(max_length=16)
    mean = ArrayField(models.FloatField(), default=list)
    low = ArrayField(models.FloatField(), default=list)
    high = ArrayField(models.FloatField(), default=list)
    history = ArrayField(models.FloatField(), default=list, help_text="The last 28 days' demand.")
    horizon_total = models.FloatField(help_text="Forecast demand over the horizon.")
    mase = models.FloatField(null=True, blank=True)
    mase_naive = models.FloatField(null=True, blank=True)
    stock = models.IntegerField(null=True, blank=True)
    days_of_cover = models.FloatField(null=True, blank=True)
    runs_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind", "-horizon_total", "id"]
        verbose_name = "demand forecast"
        indexes = [
            models.Index(fields=["kind", "-horizon_total"], name="insights_fc_kind_idx"),
            models.Index(fields=["runs_out", "days_of_cover"], name="insights_fc_stockout_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"
