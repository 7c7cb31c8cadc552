"""Churn risk: one row per ``churn_risk`` run (its windows and evaluation) and the latest run's
score per shopper.  Written by ``recommend.insights.services.churn`` only; the admin reads them."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class ChurnRun(models.Model):
    """One ``churn_risk`` run: its windows (cut-offs and horizon), the evaluation on the later
    window beside the recency-only baseline (AUC, Brier, calibration bins) and how many
    shoppers were scored.  Only the latest run keeps its scores."""

    job = models.ForeignKey(
        "training.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    horizon_days = models.PositiveIntegerField()
    train_cutoff = models.DateTimeField()
    eval_cutoff = models.DateTimeField()
    end = models.DateTimeField(help_text="The last visit seen: scores are for the days after it.")
    shoppers_scored = models.PositiveIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True)
    auc_recency = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "churn risk run"

    def __str__(self) -> str:
        return f"churn run #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class ChurnScore(models.Model):
    """A shopper's risk of not returning within the run's horizon (calibrated probability),
    their value (money spent in all), the features behind the risk (``reasons``: feature, value,
    median, effect, text) and, for the win-back list, their group (segment, else top category)
    and the products to show them (from the default recommendations strategy)."""

    run = models.ForeignKey(ChurnRun, on_delete=models.CASCADE, related_name="scores")
    shopper = models.OneToOneField(
        "catalog.Shopper", on_delete=models.CASCADE, related_name="churn_score"
    )
    risk = models.FloatField()
    value = models.FloatField(default=0.0, help_text="Money spent in all.")
    recency_days = models.FloatField()
    visits = models.PositiveIntegerField()
    reasons = models.JSONField(default=list, blank=True)
    group = models.CharField(
        max_length=200, blank=True, help_text="Segment, or the top category without segments."
    )
    in_winback = models.BooleanField(
        default=False,
        help_text="Picked for its group's win-back list (risk × value, highest first).",
    )
    winback_products = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        ordering = ["-risk", "id"]
        verbose_name = "shopper churn risk"
        verbose_name_plural = "shoppers by churn risk"
        indexes = [
            models.Index(fields=["-risk"], name="insights_churn_risk_idx"),
            models.Index(fields=["group", "-risk"], name="insights_churn_group_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id}: {self.risk:.0%}"

    @property
    def reason_text(self) -> str:
        return "; ".join(r.get("text", "") for r in self.reasons or [])
