"""The insights' alert rules (``platform_core.alerts`` registry)."""

from __future__ import annotations

from datetime import datetime, timedelta

from platform_core import alerts

#: a spike stays alerting this long after its day (then the alert resolves by itself)
SPIKE_ALERT_DAYS = 7


def sentiment_spike_findings(*, now: datetime, window: timedelta) -> list[alerts.Finding]:
    """One finding per product, brand or category with a negative-sentiment spike in the last
    ``SPIKE_ALERT_DAYS`` days (its first spike day): value = the spike's BH q-value."""
    from recommend.insights.selectors.sentiment import spike_findings_since

    since = now.date() - timedelta(days=SPIKE_ALERT_DAYS - 1)
    findings = []
    for subject, spike in sorted(spike_findings_since(since).items()):
        if spike.day > now.date():
            continue
        findings.append(
            (
                subject,
                spike.q_value,
                f"Negative reviews spiked on {spike.day:%Y-%m-%d} for {spike.level} "
                f"“{spike.name}”: {spike.negatives} of {spike.reviews} negative "
                f"({spike.share:.0%}) against {spike.baseline_share:.0%} over its previous "
                f"{spike.baseline_reviews} review(s) (p = {spike.p_value:.2g}, BH q = "
                f"{spike.q_value:.2g}). Insights → Review sentiment.",
            )
        )
    return findings


def register() -> None:
    alerts.register_rule(
        "sentiment_spike",
        title="Negative review spike",
        evaluate=sentiment_spike_findings,
        default_threshold=0.05,
        comparison="<=",
        unit="BH q-value",
        description="A product's, brand's or category's share of negative reviews on one day "
        "against its own trailing baseline (exact binomial test, minimum volume), "
        "Benjamini-Hochberg across every series tested that day (score_reviews job). Open for "
        f"{SPIKE_ALERT_DAYS} days after the spike day.",
    )
