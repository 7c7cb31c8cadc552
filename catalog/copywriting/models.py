"""A drafted description waiting for a person, and the operators' banned words."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DraftStatus(models.TextChoices):
    PENDING = "pending", "waiting for review"
    APPROVED = "approved", "approved (published)"
    REJECTED = "rejected", "rejected"
    SUPERSEDED = "superseded", "superseded by a newer draft"


class CopyDraft(models.Model):
    """A description drafted for a product by ``drafter`` (the offline template/extractive
    drafter or a generative model), with the guardrails' verdicts. Only an approval writes it
    to the product; ``current_text`` is the description it would replace, kept for review.

    With a ``segment``, the draft is a promotion line for that shopper segment instead: its
    approval publishes it to ``/api/v1/promotions`` for the segment's shoppers (the latest
    approved line per product and segment) and leaves the description alone."""

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="copy_drafts"
    )
    text = models.TextField(help_text="The draft; edit it here before approving.")
    current_text = models.TextField(
        blank=True, help_text="The product's description when the draft was written."
    )
    drafter = models.CharField(
        max_length=300,
        help_text="Who wrote it: template-extractive (the offline drafter) or model:<id>.",
    )
    sources = models.JSONField(
        default=list, blank=True, help_text="Products whose sentences the drafter borrowed."
    )
    segment = models.CharField(
        max_length=120,
        blank=True,
        default="",
        db_index=True,
        help_text="Empty: a product description. A segment's name: a promotion line for the "
        "shoppers of that segment.",
    )
    checks = models.JSONField(default=list, blank=True)
    passes_checks = models.BooleanField(default=False, db_index=True)
    edited = models.BooleanField(default=False, help_text="A reviewer changed the text.")
    status = models.CharField(
        max_length=12, choices=DraftStatus.choices, default=DraftStatus.PENDING, db_index=True
    )
    job_id = models.BigIntegerField(null=True, blank=True, help_text="The job that drafted it.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "copy draft"
        indexes = [models.Index(fields=["status", "passes_checks"])]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "segment"],
                condition=models.Q(status="pending"),
                name="copywriting_one_pending_draft_per_product_segment",
            )
        ]

    def __str__(self) -> str:
        return f"draft #{self.pk} for product {self.product_id} ({self.status})"

    @property
    def is_promotion_line(self) -> bool:
        return bool(self.segment)

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.checks if not c.get("ok")]


class BannedWord(models.Model):
    """A word or phrase no draft may use (whole words, any case); edited in the admin."""

    word = models.CharField(max_length=100, unique=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word
