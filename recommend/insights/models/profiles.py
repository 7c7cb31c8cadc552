"""Shopper profiles and segments: what the ``shopper_segments`` job precomputes for the shopper
page and the segments page (neither page reads the events table beyond one shopper's latest
events, by the (shopper, timestamp) index)."""

from __future__ import annotations

from django.db import models
from pgvector.django import VectorField


class ProfileSnapshot(models.Model):
    """A shopper's interest distribution over categories and brands as of one day (decayed,
    weighted events before the day's end; shares sum to 1). The job writes today's and, on its
    first run, backfills the day 30 days back, so the page shows how the interests changed."""

    shopper = models.ForeignKey(
        "catalog.Shopper", on_delete=models.CASCADE, related_name="profile_snapshots"
    )
    day = models.DateField()
    categories = models.JSONField(default=dict, help_text="Category id → share of interest.")
    brands = models.JSONField(default=dict, help_text="Brand id → share of interest.")
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["shopper", "-day"]
        verbose_name = "profile snapshot"
        constraints = [
            models.UniqueConstraint(fields=["shopper", "day"], name="insights_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id} on {self.day}"


class Segment(models.Model):
    """One cluster of profile embeddings from the latest ``shopper_segments`` run, named after
    the categories its shoppers lean to more than the store as a whole."""

    label = models.PositiveSmallIntegerField(help_text="Cluster number within its run.")
    name = models.CharField(max_length=120, unique=True)
    size = models.PositiveIntegerField(help_text="Shoppers in the segment.")
    conversion_rate = models.FloatField(
        help_text="Share of the segment's shoppers with a purchase in the last 30 days."
    )
    top_categories = models.JSONField(
        default=list, help_text="[[category name, share, lift over the store]] best first."
    )
    silhouette = models.FloatField(help_text="Silhouette of the run's clustering (all segments).")
    computed_at = models.DateTimeField()
    job_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-size", "label"]
        verbose_name = "segment"

    def __str__(self) -> str:
        return self.name


class ShopperInsight(models.Model):
    """A shopper as the insights see them: their current segment and profile figures, one row
    per shopper with a profile (the list the shopper pages open from)."""

    shopper = models.OneToOneField(
        "catalog.Shopper", on_delete=models.CASCADE, primary_key=True, related_name="insight"
    )
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    top_category = models.CharField(max_length=200, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    purchases_30d = models.PositiveIntegerField(default=0)
    # The profile embedding (unit length, the serving profile's decayed weighting) under the
    # retriever version it was computed with: nearest shoppers and products on the page.
    vector = VectorField(null=True, blank=True)
    retriever_id = models.PositiveIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-event_count", "shopper"]
        verbose_name = "shopper profile"

    def __str__(self) -> str:
        return f"profile of {self.shopper_id}"
