"""A/B experiments on serving strategies: experiments, their variants, assignments, exposures.

The models belong to the ``experiments`` app but keep the tables the ``recommend`` app
created for them (``db_table``), so moving them out copied no data. Writes go through
``recommend.experiments.services``; reads and results through
``recommend.experiments.selectors``; the statistics are plain Python in
``recommend.experiments.logic``.

Lifecycle: draft → running → stopped → shipped (a running experiment may also be shipped
directly, which stops it). Only a draft can be edited or deleted; at most one experiment per
surface runs at a time (a partial unique constraint backs the service's check).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from recommend.models import Surface

__all__ = [
    "Assignment",
    "Experiment",
    "ExperimentMetric",
    "ExperimentVerdict",
    "Exposure",
    "Variant",
]


class ExperimentMetric(models.TextChoices):
    """Metrics measured per variant (primary metric or guardrail)."""

    CTR = "ctr", "click-through rate (served lists with a click)"
    ADD_TO_CART = "add_to_cart_rate", "add-to-cart rate (exposed shoppers who added to cart)"
    CONVERSION = "conversion_rate", "conversion rate (exposed shoppers who bought)"
    REVENUE = "revenue_per_shopper", "revenue per exposed shopper"
    ZERO_RESULT = "zero_result_rate", "zero-result rate (lower is better)"
    LATENCY = "latency", "server latency (lower is better)"


PRIMARY_METRICS = [
    (ExperimentMetric.CTR.value, ExperimentMetric.CTR.label),
    (ExperimentMetric.ADD_TO_CART.value, ExperimentMetric.ADD_TO_CART.label),
    (ExperimentMetric.CONVERSION.value, ExperimentMetric.CONVERSION.label),
    (ExperimentMetric.REVENUE.value, ExperimentMetric.REVENUE.label),
]


def default_guardrails() -> list[str]:
    return [ExperimentMetric.ZERO_RESULT.value, ExperimentMetric.LATENCY.value]


class Experiment(models.Model):
    """An A/B test of serving strategies on one surface.

    Each variant serves a Strategy to a share of the units (shoppers, or sessions for
    anonymous traffic); the optional holdout gets the surface's default strategy and is not
    measured. ``salt`` seeds the deterministic assignment hash, so a unit keeps its variant
    for the experiment's life. ``min_sample_size`` (units per variant) comes from the
    built-in calculator: baseline rate, minimum detectable relative effect, power and α.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        RUNNING = "running", "running"
        STOPPED = "stopped", "stopped"
        SHIPPED = "shipped", "shipped"

    name = models.CharField(max_length=120, unique=True)
    surface = models.CharField(max_length=20, choices=Surface.choices, db_index=True)
    hypothesis = models.TextField(
        help_text="What you expect and why, e.g. “The fine-tuned retriever finds "
        "what shoppers mean, so more searches end in a click.”"
    )
    primary_metric = models.CharField(
        max_length=32, choices=PRIMARY_METRICS, default=ExperimentMetric.CTR
    )
    guardrails = ArrayField(
        models.CharField(max_length=32, choices=ExperimentMetric.choices),
        default=default_guardrails,
        blank=True,
        help_text="Metrics that must not get significantly worse.",
    )
    guardrail_tolerance = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Relative harm a rate or revenue guardrail may show before it counts as breached "
        "(0.05 = 5%).",
    )
    latency_tolerance = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Relative latency increase the latency guardrail accepts (0.5 = +50%): a strategy "
        "that encodes queries or runs a ranker is expected to cost some time.",
    )
    holdout_percent = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0), MaxValueValidator(99.99)],
        help_text="Share of units kept out of the experiment (they get the default strategy). "
        "Variant shares plus the holdout must sum to 100.",
    )

    # Sample-size calculator inputs and its result.
    baseline_rate = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.9999)],
        help_text="Today's value of the primary metric as a rate (0.10 = 10%); for revenue, use the "
        "conversion rate.",
    )
    minimum_detectable_effect = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.001), MaxValueValidator(10)],
        help_text="Smallest relative change worth detecting (0.10 = +10%).",
    )
    power = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(0.99)]
    )
    alpha = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.001), MaxValueValidator(0.2)],
        help_text="Significance level (two-sided).",
    )
    min_sample_size = models.PositiveIntegerField(
        default=0, editable=False, help_text="Units per variant the calculator asks for."
    )
    sequential = models.BooleanField(
        default=True,
        help_text="Always-valid p-values (mSPRT): results may be read at any time. Off: a "
        "fixed-horizon test, valid once the planned sample size is reached.",
    )
    cuped_days = models.PositiveIntegerField(
        default=14,
        validators=[MaxValueValidator(365)],
        help_text="CUPED: days before the first exposure used as each shopper's pre-period (0: off).",
    )

    salt = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Seed of the assignment hash, fixed when the experiment starts.",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    winner = models.ForeignKey(
        "experiments.Variant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The variant shipped.",
    )
    conclusion = models.TextField(
        blank=True,
        editable=False,
        help_text="The verdict recorded when the experiment was stopped or shipped.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        db_table = "recommend_experiment"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["surface"],
                condition=Q(status="running"),
                name="recommend_one_running_experiment_per_surface",
            ),
            models.CheckConstraint(
                condition=Q(holdout_percent__gte=0, holdout_percent__lt=100),
                name="recommend_experiment_holdout_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Variant(models.Model):
    """One arm of an experiment: a strategy served to ``share`` percent of the units.

    Exactly one variant per experiment is the control (the comparison baseline); an A/A test
    gives two variants the same strategy.
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(
        max_length=40, help_text="Returned as `variant` in API responses, e.g. control, treatment."
    )
    strategy = models.ForeignKey(
        "recommend.Strategy", on_delete=models.PROTECT, related_name="variants"
    )
    share = models.FloatField(
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent of units (with the other variants and the holdout: 100).",
    )
    is_control = models.BooleanField(default=False)

    class Meta:
        db_table = "recommend_variant"
        ordering = ["experiment", "-is_control", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "key"], name="recommend_variant_key_unique"
            ),
            models.UniqueConstraint(
                fields=["experiment"],
                condition=Q(is_control=True),
                name="recommend_variant_one_control",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class UnitType(models.TextChoices):
    SHOPPER = "shopper", "shopper"
    SESSION = "session", "session (anonymous)"


class Assignment(models.Model):
    """A unit's variant in an experiment, recorded at its first exposure.

    The variant itself is a pure function of (salt, unit), so serving never reads this
    table; it is the durable record (and unique per experiment and unit, written with
    ``ON CONFLICT DO NOTHING`` so concurrent first requests agree).
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="assignments")
    unit_type = models.CharField(max_length=8, choices=UnitType.choices)
    unit_id = models.CharField(max_length=128, help_text="Shopper external id, or session id.")
    shopper = models.ForeignKey(
        "catalog.Shopper",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="experiment_assignments",
    )
    assigned_at = models.DateTimeField()
    segment = models.CharField(
        max_length=120,
        blank=True,
        default="",
        db_default="",
        help_text="The shopper's segment when first assigned (Insights → segments), frozen then "
        "so the treatment cannot move shoppers between segments.",
    )

    class Meta:
        db_table = "recommend_assignment"
        ordering = ["experiment", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "unit_type", "unit_id"],
                name="recommend_assignment_unique_unit",
            ),
        ]
        indexes = [models.Index(fields=["shopper"], name="recommend_assignment_shopper")]

    def __str__(self) -> str:
        return f"{self.unit_type} {self.unit_id} → {self.variant_id}"


class Exposure(models.Model):
    """One served response of an experiment surface: which unit saw which variant, when
    (the simulated time for simulator traffic), how fast and with how many results.

    Written in batches by ``recommend.tasks.flush_exposures`` from a Redis buffer, never in
    the request. ``request_id`` links the shopper's later events (``catalog.Event``) to it.
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="exposures")
    unit_type = models.CharField(max_length=8, choices=UnitType.choices)
    unit_id = models.CharField(max_length=128)
    shopper = models.ForeignKey(
        "catalog.Shopper",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="experiment_exposures",
    )
    session = models.CharField(max_length=128, blank=True)
    request_id = models.CharField(max_length=64, unique=True)
    timestamp = models.DateTimeField()
    latency_ms = models.FloatField(default=0)
    result_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "recommend_exposure"
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["experiment", "timestamp"], name="recommend_exposure_exp_time"),
            models.Index(
                fields=["experiment", "shopper", "timestamp"], name="recommend_exposure_shopper"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.variant_id})"


class ExperimentVerdict(models.Model):
    """A running experiment's results as beat last computed them (``experiments_verdicts_refresh``).

    The admin dashboard — and anything else that lists experiments with their verdict — reads
    this row instead of running the results query in the request: the analysis scans the
    experiment's exposures and attributed events. ``computed_at`` says how fresh it is; the
    results page still computes live.
    """

    experiment = models.OneToOneField(
        Experiment, on_delete=models.CASCADE, primary_key=True, related_name="verdict"
    )
    computed_at = models.DateTimeField()
    outcome = models.CharField(
        max_length=32,
        blank=True,
        help_text="winner, loser, no detectable difference, guardrail breached, not enough data; "
        "empty when there is nothing to analyse yet.",
    )
    sentence = models.TextField(blank=True, help_text="The verdict in words, or why there is none.")
    recommended_variant = models.CharField(max_length=40, blank=True)
    units = models.PositiveIntegerField(default=0)
    exposures = models.PositiveIntegerField(default=0)
    units_required = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units per variant the sample-size calculator asks for."
    )
    srm_p_value = models.FloatField(null=True, blank=True)
    srm_mismatch = models.BooleanField(
        null=True, blank=True, help_text="Sample ratio mismatch (None: not checked yet)."
    )
    compute_ms = models.FloatField(default=0, help_text="How long the analysis took.")
    error = models.TextField(blank=True, help_text="Why the last computation failed, if it did.")

    class Meta:
        ordering = ["-computed_at"]
        verbose_name = "experiment verdict (cached)"
        verbose_name_plural = "experiment verdicts (cached)"

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.outcome or 'no verdict yet'}"
