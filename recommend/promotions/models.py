"""Promotion campaigns and the log of what each campaign served to whom.

A :class:`Campaign` promotes some products (or every active product of a category subtree)
between ``starts_at`` and ``ends_at`` until ``impression_budget`` impressions are spent.
``control_percent`` of the shoppers are held out, by a deterministic hash of (campaign,
shopper) (``recommend.experiments.logic.assignment``): they get no promotion, and their
purchases measure what the campaign adds. Every answer of ``/api/v1/promotions`` for a campaign
is one :class:`CampaignServe` row (treated with the product shown, or control with none), with
the served request's id: clicks and purchases that come back with that id are attributed to it
by the analytics' one rule. Writes go through ``recommend.promotions.services``; reads through
``recommend.promotions.selectors``.
"""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

__all__ = ["Arm", "Campaign", "CampaignServe"]


class Arm(models.TextChoices):
    TREATED = "treated", "treated (shown the promotion)"
    CONTROL = "control", "control (held out)"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        RUNNING = "running", "running"
        PAUSED = "paused", "paused"
        ENDED = "ended", "ended"

    name = models.CharField(max_length=120, unique=True)
    slot = models.CharField(
        max_length=64,
        blank=True,
        help_text="The storefront slot it serves (e.g. home_banner); empty: every slot.",
    )
    products = models.ManyToManyField(
        "catalog.Product",
        blank=True,
        related_name="campaigns",
        help_text="The products it promotes (or leave empty and choose a category).",
    )
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="Promote every active product of this category and its subcategories.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    impression_budget = models.PositiveIntegerField(
        default=10_000, help_text="Impressions (promotions shown) it may serve in all."
    )
    impressions = models.PositiveIntegerField(
        default=0, editable=False, help_text="Impressions served so far."
    )
    control_percent = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text="Share of shoppers held out (shown no promotion) to measure the uplift.",
    )
    salt = models.CharField(
        max_length=64,
        editable=False,
        help_text="Seeds the control hold-out hash: a shopper keeps their arm for the campaign.",
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="promotions_campaign_window"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.salt:
            self.salt = secrets.token_hex(8)
        super().save(*args, **kwargs)


class CampaignServe(models.Model):
    """One answer of the promotions endpoint for a campaign: who (the shopper's external id,
    the hold-out unit), which arm, what was shown (treated) and the served request's id."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="serves")
    shopper_external_id = models.CharField(max_length=128)
    arm = models.CharField(max_length=8, choices=Arm.choices)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, unique=True)
    slot = models.CharField(max_length=64, blank=True)
    served_at = models.DateTimeField()

    class Meta:
        ordering = ["-served_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "shopper_external_id"], name="promotions_serve_unit"),
            models.Index(fields=["shopper_external_id"], name="promotions_serve_shopper"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.arm} {self.request_id}"
