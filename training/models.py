"""Model registry, vectors per model version, and jobs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from pgvector.django import VectorField


class Task(models.TextChoices):
    RETRIEVER = "retriever", "retriever (text encoder for products and queries)"
    INTENT = "intent", "query intent classifier"
    SENTIMENT = "sentiment", "review sentiment classifier"
    RANKER = "ranker", "ranker"
    CF = "cf", "collaborative filtering"
    IMAGE = "image", "image encoder (pictures into the titles' vector space)"
    SUPPORT_CATEGORY = "support_category", "support-category classifier (returns, shipping, …)"


def active_version_delete_error(version: ModelVersion) -> ValidationError:
    return ValidationError(
        f"Version #{version.pk} ({version.name}) is the active {version.task} version: serving "
        "follows it. Make another version active (promote one, or roll back) before deleting it.",
        code="active_version",
    )


class ModelVersionQuerySet(models.QuerySet):
    def delete(self):
        """Refuse to delete a set that holds the active version of a task (serving follows it)."""
        active = self.filter(is_active=True).first()
        if active is not None:
            raise active_version_delete_error(active)
        return super().delete()


class ModelVersion(models.Model):
    """A trained (or registered) model. ``artifact_dir`` is relative to ARTIFACTS_DIR; ``base``
    is a Hugging Face id or path resolved at load time, never baked into the artifact."""

    class Status(models.TextChoices):
        TRAINING = "training", "training"
        READY = "ready", "ready"
        FAILED = "failed", "failed"
        ARCHIVED = "archived", "archived"

    task = models.CharField(max_length=16, choices=Task.choices, db_index=True)
    name = models.CharField(max_length=200)
    base = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    job = models.ForeignKey(
        "training.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    artifact_dir = models.CharField(max_length=500, blank=True)
    precision = models.CharField(
        max_length=16,
        blank=True,
        default="fp32",
        help_text="Numeric precision it serves in: fp32, or int8 for a quantised child.",
    )
    # The retriever whose stored product vectors this one's query vectors are compared with
    # (a quantised child, a query-only student): it serves against them with no re-embedding.
    # Empty: its own vectors.
    vector_space = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="space_members",
        help_text="Retriever whose product vectors this version serves against (empty: its own).",
    )
    dimension = models.PositiveIntegerField(
        null=True, blank=True, help_text="Vector size (retrievers)."
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    dataset_snapshot = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The version this one replaced when it was last promoted: what `model_rollback` goes back to.
    previous_active = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(is_active=True), name="training_one_active_per_task"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} {self.name}"

    @property
    def space_id(self) -> int:
        """The version whose product vectors this one is served and evaluated against."""
        return self.vector_space_id or self.pk

    def delete(self, *args, **kwargs):
        """The active version of a task cannot be deleted (a ValidationError says what to do)."""
        if self.is_active:
            raise active_version_delete_error(self)
        return super().delete(*args, **kwargs)


class ProductEmbedding(models.Model):
    """A product's vector under one retriever version. Each version gets its own partial HNSW
    index (created by the embedding service), so versions can serve side by side."""

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="embeddings"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="product_embeddings"
    )
    vector = VectorField()
    text_hash = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product"], name="training_embedding_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} under version {self.model_version_id}"


class ShopperProfile(models.Model):
    """A shopper's profile vector (decayed mean of engaged products) under one retriever version."""

    shopper = models.ForeignKey(
        "catalog.Shopper", on_delete=models.CASCADE, related_name="profiles"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="shopper_profiles"
    )
    vector = VectorField()
    event_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "shopper"], name="training_profile_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"shopper {self.shopper_id} under version {self.model_version_id}"


class Activation(models.TextChoices):
    """What the activation policy did with a job's new version (training.activation)."""

    ACTIVATED = "activated", "activated (first version of its task)"
    PROMOTED = "promoted", "promoted (better on the same split)"
    KEPT = "kept", "kept inactive"


class Job(models.Model):
    """A training / embedding / evaluation run on a Celery worker, with live progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    kind = models.CharField(max_length=40, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    queue = models.CharField(max_length=16, default="gpu")
    progress = models.FloatField(default=0.0)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    epoch = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    throughput = models.FloatField(null=True, blank=True, help_text="Items per second.")
    eta_seconds = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)
    metrics_history = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=64, blank=True)
    peak_memory_mb = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempt = models.PositiveIntegerField(default=1)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    result_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the activation policy (training.activation) did with the job's new version.
    activation = models.CharField(
        max_length=16, choices=Activation.choices, blank=True, db_index=True
    )
    activation_reason = models.CharField(max_length=500, blank=True)
    schedule = models.ForeignKey(
        "training.JobSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        help_text="The schedule that launched this job, if any.",
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.pk} ({self.status})"


class QueryLabel(models.Model):
    """An operator's intent label for a (normalised) query, saved from the admin labelling page.
    Labels come from ``training.classifier_labels.intent_labels()``; they override the weak labels that the
    intent classifier job derives from sessions."""

    query = models.CharField(max_length=500, unique=True, help_text="Normalised query text.")
    label = models.CharField(max_length=32)
    user = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["query"]

    def __str__(self) -> str:
        return f"“{self.query}” → {self.label}"


class QueryToLabel(QueryLabel):
    """Admin entry "Label queries": the labelling page (a proxy, so it gets its own menu line
    and permissions); the rows are QueryLabel's."""

    class Meta:
        proxy = True
        verbose_name = "query to label"
        verbose_name_plural = "label queries"


class JobNotice(models.Model):
    """A message for a job's launcher (e.g. "job #12 failed"), shown once on their next admin
    page load and then marked delivered."""

    class Level(models.TextChoices):
        ERROR = "error", "error"
        WARNING = "warning", "warning"
        SUCCESS = "success", "success"

    user = models.ForeignKey(
        "platform_core.User", on_delete=models.CASCADE, related_name="job_notices"
    )
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="notices")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.ERROR)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["user"],
                name="training_notice_pending",
                condition=Q(delivered_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.message


class JobSchedule(models.Model):
    """A job kind with its parameters, launched by beat daily or weekly at a time of day (in
    settings.TIME_ZONE) through the normal launch service, as ``created_by``. A schedule never
    launches while the job it launched last is still queued or running: it waits for it."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "daily"
        WEEKLY = "weekly", "weekly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    promote_if_better = models.BooleanField(
        default=True,
        help_text="Launch with promote_if_better (kinds that produce a version): the new version "
        "replaces the active one when it is better on the same split.",
    )
    frequency = models.CharField(
        max_length=8, choices=Frequency.choices, default=Frequency.DAILY, db_index=True
    )
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, null=True, blank=True, help_text="Weekly schedules only."
    )
    at = models.TimeField(help_text="Time of day (settings.TIME_ZONE).")
    enabled = models.BooleanField(default=True, db_index=True)
    created_by = models.ForeignKey(
        "platform_core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The launcher of the scheduled jobs (permissions, audit, notices).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The scheduled time last handled (launched, or refused with last_message): due again at
    # the next occurrence after it.
    last_due_at = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataValueReport(models.Model):
    """What a model task's training data is worth: one ``data_value`` job's figures.

    ``ablation``: one row per source (``source``, ``title``, ``kind``, ``rows``, ``change`` of
    the key metric with the source minus without it, its paired bootstrap ``low`` / ``high``,
    ``metric_without``, ``verdict``; or ``skipped`` with the reason). ``curve``: the learning
    curve's points and power-law fit (``training.ml.data_value.learning_curve_fit``), or null.
    The models trained for it are thrown away: an analysis, never a promotable version.
    """

    task = models.CharField(max_length=16, choices=Task.choices, db_index=True)
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="data_value_reports",
        help_text="The version whose training settings the retrains reused.",
    )
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="data_value_reports"
    )
    metric = models.CharField(max_length=32)
    baseline = models.FloatField(help_text="The key metric with every source.")
    held_out_units = models.PositiveIntegerField(default=0)
    unit = models.CharField(max_length=32, default="lists")
    split = models.JSONField(default=dict, blank=True)
    ablation = models.JSONField(default=list, blank=True)
    curve = models.JSONField(null=True, blank=True)
    summary = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    duration_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Data value of the {self.task} #{self.pk}"
