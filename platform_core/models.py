"""Staff users, storefront API clients and the audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Role(models.TextChoices):
    OPERATOR = "operator", "Operator"
    ANALYST = "analyst", "Analyst"
    LEARNER = "learner", "Learner"


class User(AbstractUser):
    """A staff member. Permission roles are Django groups named after :class:`Role`."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def roles(self) -> set[str]:
        if self.is_superuser:
            return {r.value for r in Role}
        return set(self.groups.values_list("name", flat=True))

    def has_role(self, role: str) -> bool:
        return self.is_superuser or self.groups.filter(name=role).exists()


class ApiScope(models.TextChoices):
    READ = "read", "read: search, recommendations, similar, trending"
    EVENTS = "events", "events: send shopper events"
    WRITE_CATALOG = "write-catalog", "write-catalog: bulk product upserts"
    SIMULATE = "simulate", "simulate: traffic simulator (may set X-Aisle-Simulated-Time)"
    PRIVACY = "privacy", "privacy: export or forget a shopper's data (never on a public key)"


PUBLIC_SCOPES = frozenset({ApiScope.READ, ApiScope.EVENTS})


class ApiClient(models.Model):
    """A storefront (or tool) that calls the REST API with ``Authorization: Api-Key <key>``.

    Only a SHA-256 hash of the key is stored; the key itself is shown once, at creation or
    rotation. ``prefix`` (the first characters of the key) finds the row without a scan.
    """

    name = models.CharField(max_length=120, unique=True)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=20, choices=ApiScope.choices), default=list)
    public = models.BooleanField(
        default=False,
        help_text="A key a browser may hold: read and events scopes only; CORS allowed for the origins below.",
    )
    allowed_origins = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Origins such as https://shop.example.com (public keys only).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    request_count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return self.active and scope in self.scopes


class AuditLog(models.Model):
    """One operator action (who, what, on which object, when, details). Written by services."""

    actor = models.ForeignKey(
        "platform_core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    actor_name = models.CharField(
        max_length=150, blank=True, help_text="Kept when the user is deleted."
    )
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.object_repr}".strip()


class DeadLetter(models.Model):
    """Rows a buffer flush could not store (``platform_core.buffers``). They live in Redis, not
    in a table: this unmanaged model only gives the admin page and its permissions a home
    (``view_deadletter`` to see them, ``change_deadletter`` to retry or discard)."""

    class Meta:
        managed = False
        default_permissions = ("view", "change")
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"

    def __str__(self) -> str:
        return "dead letter"


class AlertRule(models.Model):
    """A registered alert rule's editable settings (``platform_core.alerts``): the threshold it
    compares its measurement with, and whether it runs. One row per rule name, created from the
    registry's defaults; the Prometheus rules file is generated from the same thresholds."""

    name = models.SlugField(max_length=80, unique=True, editable=False)
    title = models.CharField(max_length=200, editable=False)
    description = models.TextField(blank=True, editable=False)
    threshold = models.FloatField(
        help_text="The alert opens when the measured value crosses this (see the comparison)."
    )
    comparison = models.CharField(max_length=2, editable=False)
    unit = models.CharField(max_length=20, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "alert rule"

    def __str__(self) -> str:
        return self.title or self.name


class Alert(models.Model):
    """One rule firing for one subject (a buffer, a job, an experiment, the whole store).

    At most one open-or-acknowledged alert per rule and subject (a constraint), so a condition
    that lasts sends one email. Beat resolves it when the condition clears; an operator may
    acknowledge it (it stays, marked seen) or resolve it by hand (it then stays resolved until the
    condition has cleared once, so a resolved alert does not come back every minute)."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        RESOLVED = "resolved", "resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    value = models.FloatField()
    threshold = models.FloatField(help_text="The rule's threshold when the alert was raised.")
    message = models.TextField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_until_clear = models.BooleanField(
        default=False,
        help_text="Resolved by hand while the condition held: not raised again before it clears.",
    )

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        permissions = [("receive_alert_email", "Receives alert emails")]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="platform_core_alert_one_active_per_rule_subject",
            )
        ]
        indexes = [models.Index(fields=["rule", "subject", "-id"])]

    def __str__(self) -> str:
        subject = f" ({self.subject})" if self.subject else ""
        return f"{self.rule}{subject}: {self.status}"
