"""Alerts: a registry of rules any app adds to, evaluated by beat into rows, emailed once.

A rule (:func:`register_rule`, called from an app's ``AppConfig.ready()``) has a name, a title,
a default threshold and a comparison, and an **evaluator**: a callable ``(now, window) ->
[(subject, value, message)]`` that measures its condition for every subject it watches (a
buffer, a job, an experiment; ``""`` for the whole store). Evaluators measure; the comparison
with the threshold happens here, against the :class:`~platform_core.models.AlertRule` row, whose
threshold and ``enabled`` flag operators edit in the admin.

:func:`alerts_evaluate` (beat, every minute — ``platform_core.tasks.alerts_evaluate``):

- a subject past the threshold with no active alert gets a new **open** :class:`Alert`, and
  the new alerts of one run go out in one email (``ALERT_EMAILS`` and the staff holding
  ``platform_core.receive_alert_email``, through Django's mail settings);
- an active (open or acknowledged) alert is refreshed (last seen, value, message): never a
  second row or a second email — a constraint keeps one active alert per rule and subject;
- an active alert whose subject is no longer past the threshold is **resolved**;
- an alert an operator resolved while the condition still held stays resolved until the
  condition has cleared once (``held_until_clear``).

Acknowledge and resolve by hand go through :func:`alert_acknowledge` / :func:`alert_resolve`,
audited. The rows are the source of truth: the admin banner, the dashboard and the Prometheus
rules file (``manage.py alerts_prometheus_rules``) all read the same rules and thresholds.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

Finding = tuple[str, float, str]  # (subject, value, message)
Evaluator = Callable[..., Sequence[Finding]]

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule. ``promql``: the Prometheus expression of the same measurement (the
    generated rules file compares it with the threshold); None when Prometheus cannot measure
    it — the file then watches the rule's open alerts (``aisle_alerts_open``)."""

    name: str
    title: str
    evaluate: Evaluator
    default_threshold: float
    comparison: str = ">"
    window: timedelta = timedelta(hours=1)
    unit: str = ""
    description: str = ""
    promql: str | None = None
    severity: str = "warning"

    def breached(self, value: float, threshold: float) -> bool:
        return COMPARISONS[self.comparison](value, threshold)


RULES: dict[str, RuleSpec] = {}


def register_rule(
    name: str,
    *,
    title: str,
    evaluate: Evaluator,
    default_threshold: float,
    comparison: str = ">",
    window: timedelta = timedelta(hours=1),
    unit: str = "",
    description: str = "",
    promql: str | None = None,
    severity: str = "warning",
) -> RuleSpec:
    """Add a rule (idempotent by name: the last registration wins)."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {sorted(COMPARISONS)}")
    spec = RuleSpec(
        name=name,
        title=title,
        evaluate=evaluate,
        default_threshold=float(default_threshold),
        comparison=comparison,
        window=window,
        unit=unit,
        description=description,
        promql=promql,
        severity=severity,
    )
    RULES[name] = spec
    return spec


def rules_sync() -> dict:
    """One :class:`AlertRule` row per registered rule (new rows take the default threshold;
    existing rows keep the operator's threshold and ``enabled``). ``{name: row}``."""
    from platform_core.models import AlertRule

    rows = {row.name: row for row in AlertRule.objects.all()}
    for spec in RULES.values():
        described = {
            "title": spec.title[:200],
            "description": spec.description,
            "comparison": spec.comparison,
            "unit": spec.unit,
        }
        row = rows.get(spec.name)
        if row is None:
            row, _ = AlertRule.objects.get_or_create(
                name=spec.name, defaults={**described, "threshold": spec.default_threshold}
            )
            rows[spec.name] = row
        elif any(getattr(row, k) != v for k, v in described.items()):
            AlertRule.objects.filter(pk=row.pk).update(**described)
            for key, value in described.items():
                setattr(row, key, value)
    return rows


def rules_sync_after_migrate(sender=None, **kwargs) -> None:
    """post_migrate: the admin lists every rule right after ``migrate``."""
    rules_sync()


@dataclass
class EvaluationReport:
    """What one run did: alerts raised, refreshed and resolved, evaluators that failed."""

    raised: list = field(default_factory=list)
    refreshed: int = 0
    resolved: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    emailed: int = 0


def alerts_evaluate(*, now: datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled rule once; raise, refresh and resolve alerts; email new ones."""
    from platform_core.models import Alert

    now = now or timezone.now()
    report = EvaluationReport()
    rows = rules_sync()
    active = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)
    for name, spec in sorted(RULES.items()):
        rule = rows[name]
        if not rule.enabled:
            continue
        try:
            findings = list(spec.evaluate(now=now, window=spec.window))
        except Exception as exc:  # one broken evaluator must not stop the others
            logger.exception("alert rule %s failed to evaluate", name)
            report.failed.append((name, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        breaching = {
            str(subject)[:200]: (float(value), str(message))
            for subject, value, message in findings
            if spec.breached(float(value), rule.threshold)
        }
        current = {a.subject: a for a in Alert.objects.filter(rule=rule, status__in=active)}
        held = set(
            Alert.objects.filter(rule=rule, status=Alert.Status.RESOLVED, held_until_clear=True)
            .values_list("subject", flat=True)
            .distinct()
        )
        for subject, alert in current.items():
            if subject in breaching:
                value, message = breaching[subject]
                Alert.objects.filter(pk=alert.pk).update(
                    last_seen_at=now, value=value, message=message
                )
                report.refreshed += 1
            else:
                Alert.objects.filter(pk=alert.pk, status__in=active).update(
                    status=Alert.Status.RESOLVED, resolved_at=now, last_seen_at=now
                )
                report.resolved += 1
        cleared = held - set(breaching)
        if cleared:
            Alert.objects.filter(rule=rule, subject__in=cleared, held_until_clear=True).update(
                held_until_clear=False
            )
        for subject, (value, message) in breaching.items():
            if subject in current or subject in held:
                continue
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        rule=rule,
                        subject=subject,
                        value=value,
                        threshold=rule.threshold,
                        message=message,
                        first_seen_at=now,
                        last_seen_at=now,
                    )
            except IntegrityError:  # a concurrent run raised it first: theirs to email
                continue
            report.raised.append(alert)
    if report.raised:
        report.emailed = _email(report.raised, now=now)
    alerts_summary_refresh()
    return report


def alert_recipients() -> list[str]:
    """``ALERT_EMAILS`` plus active users holding ``receive_alert_email`` (directly, by group,
    or as superusers) with an address."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    perm = Permission.objects.filter(
        content_type__app_label="platform_core", codename="receive_alert_email"
    ).first()
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    if perm is not None:
        users = users.filter(
            Q(user_permissions=perm) | Q(groups__permissions=perm) | Q(is_superuser=True)
        )
    else:
        users = users.filter(is_superuser=True)
    addresses = list(settings.ALERT_EMAILS) + list(users.values_list("email", flat=True))
    return list(dict.fromkeys(a.strip() for a in addresses if a and a.strip()))


def _email(alerts: list, *, now: datetime) -> int:
    """One email for the alerts a run raised; marks them emailed. Returns messages sent."""
    from django.core.mail import send_mail

    from platform_core.models import Alert

    recipients = alert_recipients()
    if not recipients:
        logger.warning("%d new alert(s) but no recipient (ALERT_EMAILS)", len(alerts))
        return 0
    if len(alerts) == 1:
        subject = f"[Aisle alert] {_line(alerts[0])}"
    else:
        subject = f"[Aisle alert] {len(alerts)} new alerts"
    body = "\n\n".join(
        f"{_line(a)}\n{a.message}\n(threshold {a.rule.comparison} {a.threshold:g}"
        f"{' ' + a.rule.unit if a.rule.unit else ''}, seen {a.first_seen_at:%Y-%m-%d %H:%M} UTC)"
        for a in alerts
    )
    body += "\n\nOpen alerts: /admin/platform_core/alert/?status__exact=open"
    try:
        sent = send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # the rows are the source of truth; the mail is retried by nobody
        logger.exception("alert email failed")
        return 0
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(emailed_at=now)
    return sent


def _line(alert) -> str:
    return f"{alert.rule.title}" + (f" — {alert.subject}" if alert.subject else "")


def alert_acknowledge(*, alert, actor) -> bool:
    """Mark an open alert as seen (it stays active and is still resolved when it clears)."""
    from platform_core.models import Alert
    from platform_core.services import audit_record

    done = Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=actor
    )
    if done:
        audit_record(actor=actor, action="alert.acknowledge", obj=alert)
        alerts_summary_refresh()
    return bool(done)


def alert_resolve(*, alert, actor) -> bool:
    """Close an active alert by hand; it is not raised again before its condition clears."""
    from platform_core.models import Alert
    from platform_core.services import audit_record

    done = Alert.objects.filter(
        pk=alert.pk, status__in=(Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)
    ).update(
        status=Alert.Status.RESOLVED,
        resolved_at=timezone.now(),
        resolved_by=actor,
        held_until_clear=True,
    )
    if done:
        audit_record(actor=actor, action="alert.resolve", obj=alert)
        alerts_summary_refresh()
    return bool(done)


SUMMARY_CACHE_KEY = "platform:alerts:summary"
EMPTY_SUMMARY = {"open": 0, "acknowledged": 0, "latest": []}


def open_alerts_summary() -> dict:
    """For the admin banner and the dashboard: counts of open and acknowledged alerts and the
    latest open ones, as beat's last evaluation (or an admin action since) left them in the
    cache — every admin page shows it, so a page never reads the alert table for it."""
    from django.core.cache import cache

    summary = cache.get(SUMMARY_CACHE_KEY)
    return EMPTY_SUMMARY if summary is None else summary


def alerts_summary_refresh(limit: int = 5) -> dict:
    """Read the summary from the rows and cache it, with no expiry (two small queries; beat
    runs it every minute)."""
    from django.core.cache import cache
    from django.db.models import Count

    from platform_core.models import Alert

    counts = dict(
        Alert.objects.filter(status__in=(Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED))
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    latest = [
        {"pk": a.pk, "title": a.rule.title, "subject": a.subject, "message": a.message}
        for a in Alert.objects.filter(status=Alert.Status.OPEN)
        .select_related("rule")
        .order_by("-last_seen_at")[:limit]
    ]
    summary = {
        "open": counts.get(Alert.Status.OPEN, 0),
        "acknowledged": counts.get(Alert.Status.ACKNOWLEDGED, 0),
        "latest": latest,
    }
    try:
        cache.set(SUMMARY_CACHE_KEY, summary, None)
    except Exception:  # the banner reads the rows again next time
        logger.warning("alert summary cache write failed", exc_info=True)
    return summary


# --------------------------------------------------------------------------- platform's own rule


def buffer_backlog_findings(*, now: datetime, window: timedelta) -> list[Finding]:
    """Rows waiting in each buffer (claimed ones included)."""
    from platform_core import buffers

    findings = []
    for name, buffer in sorted(buffers.REGISTRY.items()):
        stats = buffer.stats()
        backlog = stats["pending"] + stats["claimed"]
        findings.append(
            (
                f"buffer:{name}",
                backlog,
                f"{backlog} rows wait in the {name} buffer ({stats['dead_letters']} dead letters): "
                "is the flush worker (queue flush) running?",
            )
        )
    return findings


def alerts_open_gauges():
    """Scrape-time gauge: active alerts per rule (the rules file watches rules Prometheus
    cannot measure through it)."""
    from django.db.models import Count

    from platform_core.metrics import ScrapeGauge
    from platform_core.models import Alert

    counts = (
        Alert.objects.filter(status__in=(Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED))
        .values_list("rule__name")
        .annotate(n=Count("id"))
    )
    by_rule = dict(counts)
    return [
        ScrapeGauge(
            "aisle_alerts_open",
            "Open or acknowledged alerts per rule (rows in the database).",
            ("rule",),
            [((name,), by_rule.get(name, 0)) for name in sorted(RULES)],
        )
    ]


def register_platform_rules() -> None:
    register_rule(
        "buffer_backlog",
        title="Buffer backlog",
        evaluate=buffer_backlog_findings,
        default_threshold=10_000,
        comparison=">",
        unit="rows",
        description="Rows waiting in a Redis buffer (search logs, exposures …): a flush worker "
        "is down or too slow, and analytics lag behind.",
        promql="max by (buffer) (aisle_buffer_backlog_rows)",
    )
