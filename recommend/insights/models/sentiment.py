"""Review sentiment: a label per review, daily counts per series, detected spikes, rising
phrases, and the scoring watermark. All of it is written by the ``score_reviews`` job
(``recommend.insights.services.sentiment``); the admin pages only read it."""

from __future__ import annotations

from django.db import models


class SentimentSource(models.TextChoices):
    MODEL = "model", "sentiment model"
    RATING = "rating", "star rating (no sentiment model active)"


class SeriesLevel(models.TextChoices):
    STORE = "store", "whole store"
    PRODUCT = "product", "product"
    BRAND = "brand", "brand"
    CATEGORY = "category", "category"


class ReviewSentiment(models.Model):
    """The sentiment of one review event: its label, the label's probability and the
    probability of "negative" (a model's output, or the star rating as a proxy when no
    sentiment model was active: 1–2 stars negative, 3 neutral, 4–5 positive, probability 1)."""

    event = models.OneToOneField(
        "catalog.Event", on_delete=models.CASCADE, primary_key=True, related_name="sentiment"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(help_text="The review's day (UTC).")
    label = models.CharField(max_length=16)
    score = models.FloatField(help_text="Probability of the label.")
    negative_score = models.FloatField(help_text="Probability of negative.")
    source = models.CharField(max_length=8, choices=SentimentSource.choices)
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scored_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "-event_id"]
        verbose_name = "review sentiment"
        indexes = [models.Index(fields=["product", "day"]), models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"review {self.event_id}: {self.label} ({self.score:.2f})"


class SentimentDaily(models.Model):
    """Reviews and negative reviews of one series (the store, a product, a brand or a leaf
    category; ``key`` is its id, 0 for the store) on one day."""

    level = models.CharField(max_length=8, choices=SeriesLevel.choices)
    key = models.BigIntegerField()
    day = models.DateField()
    reviews = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()

    class Meta:
        ordering = ["-day", "level", "key"]
        verbose_name = "daily review sentiment"
        verbose_name_plural = "daily review sentiment"
        constraints = [
            models.UniqueConstraint(
                fields=["level", "key", "day"], name="insights_sentimentdaily_series_day"
            )
        ]
        indexes = [models.Index(fields=["level", "day"])]

    def __str__(self) -> str:
        return f"{self.level} {self.key} {self.day}: {self.negatives}/{self.reviews} negative"


class SentimentSpike(models.Model):
    """A series-day whose negative share beat its own trailing baseline, significant after
    Benjamini–Hochberg across every series tested that day (``q_value`` ≤ the job's FDR)."""

    level = models.CharField(max_length=8, choices=SeriesLevel.choices)
    key = models.BigIntegerField()
    subject = models.CharField(max_length=200, help_text="The alert subject, e.g. product:p00013.")
    name = models.CharField(max_length=300)
    day = models.DateField()
    reviews = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()
    baseline_reviews = models.PositiveIntegerField()
    baseline_share = models.FloatField()
    p_value = models.FloatField()
    q_value = models.FloatField()
    detected_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "q_value"]
        verbose_name = "sentiment spike"
        constraints = [
            models.UniqueConstraint(
                fields=["level", "key", "day"], name="insights_sentimentspike_series_day"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.subject} on {self.day}: {self.negatives}/{self.reviews} negative"

    @property
    def share(self) -> float:
        return self.negatives / self.reviews if self.reviews else 0.0


class SentimentPhrase(models.Model):
    """A phrase that rises in a product's negative reviews of the week ending ``week_end``,
    scored against the product's earlier reviews (z-score of the log-odds ratio)."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    week_end = models.DateField()
    phrase = models.CharField(max_length=200)
    recent = models.PositiveIntegerField(help_text="Negative reviews this week that contain it.")
    recent_total = models.PositiveIntegerField(help_text="Negative reviews this week.")
    earlier = models.PositiveIntegerField(help_text="Earlier reviews that contain it.")
    earlier_total = models.PositiveIntegerField(help_text="Earlier reviews.")
    score = models.FloatField()

    class Meta:
        ordering = ["-score"]
        verbose_name = "rising negative phrase"
        indexes = [models.Index(fields=["week_end", "-score"])]

    def __str__(self) -> str:
        return f"{self.phrase!r} ({self.product_id}, {self.score:.1f})"


class SentimentState(models.Model):
    """One row: how far ``score_reviews`` has scored (the review events' id watermark), with
    which model (None: the rating proxy), and its last run's figures."""

    last_event_id = models.BigIntegerField(default=0)
    source = models.CharField(max_length=8, choices=SentimentSource.choices, blank=True)
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviews_scored = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "review sentiment state"

    def __str__(self) -> str:
        return f"scored up to event #{self.last_event_id} ({self.source or 'never run'})"
