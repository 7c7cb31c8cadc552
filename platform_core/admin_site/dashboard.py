"""The admin home's tiles: what an operator checks first, each behind the permission of what it
shows, each read in a fixed number of queries (none grows with jobs, versions or experiments).

- **Active models**: the active version of each task, its key metric and age.
- **Jobs**: running and queued now, failed and succeeded in the last 24 h, with links to the
  filtered job list.
- **Experiments running**: each one's verdict and sample-ratio check as beat last cached them
  (``recommend.experiments.verdicts``); the request never runs the analysis.
- **Open alerts**: shown once the ``platform_core.Alert`` model exists.
- **Buffers**: backlog, dead letters and drops of every buffer (``platform_core.buffers``).

The traffic tiles (searches, CTR, conversion, zero-result rate, latency, events ingested over
24 h / 7 d / 30 d) read the rollups beat maintains: :func:`traffic_tiles` is their slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils.timesince import timesince

from platform_core import buffers

logger = logging.getLogger(__name__)

LAST_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Row:
    """One line of a tile: a label, its figure, a sentence, a link, and a level (ok/warn/bad)."""

    label: str
    value: str = ""
    detail: str = ""
    url: str = ""
    level: str = ""


@dataclass(frozen=True)
class Tile:
    """A dashboard tile. ``series`` (values in time order) draws a sparkline under the rows."""

    slug: str
    title: str
    rows: tuple[Row, ...] = ()
    url: str = ""
    empty: str = ""
    note: str = ""
    series: tuple[float, ...] = field(default_factory=tuple)


def _url(name: str, *args, query: dict | None = None) -> str:
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


# --- active models ---------------------------------------------------------------------------


def active_models_tile(*, now: datetime, can_launch: bool) -> Tile:
    """The active version of every task: key metric and age (one query)."""
    from training.models import ModelVersion, Task
    from training.selectors import key_metric

    active = {
        v.task: v
        for v in ModelVersion.objects.filter(is_active=True)
        .select_related("job")
        .only("pk", "task", "name", "metrics", "created_at", "promoted_at", "job__params")
    }
    rows = []
    for task in Task:
        version = active.get(task.value)
        if version is None:
            rows.append(
                Row(
                    label=task.value,
                    value="none yet",
                    detail="train one" if can_launch else "",
                    url=_url("admin:training_job_launch") if can_launch else "",
                    level="warn" if task.value == Task.RETRIEVER else "",
                )
            )
            continue
        metric = key_metric(version)  # the model list's column: evaluations first
        rows.append(
            Row(
                label=task.value,
                value=f"{metric.name} {metric.value:.3f}" if metric else "no metric yet",
                detail=f"#{version.pk} {version.name}, trained {_ago(version.created_at, now)}",
                url=_url("admin:training_modelversion_change", version.pk),
            )
        )
    return Tile(
        slug="models",
        title="Active models",
        rows=tuple(rows),
        url=_url("admin:training_modelversion_changelist", query={"is_active__exact": "1"}),
    )


# --- jobs ------------------------------------------------------------------------------------


def jobs_tile(*, now: datetime) -> Tile:
    """Jobs running and queued now, failed and succeeded in the last 24 h (two queries)."""
    from training.models import Job

    since = now - LAST_DAY
    S = Job.Status
    counts = Job.objects.aggregate(
        running=Count("pk", filter=Q(status=S.RUNNING)),
        queued=Count("pk", filter=Q(status=S.QUEUED)),
        failed=Count("pk", filter=Q(status=S.FAILED, finished_at__gte=since)),
        succeeded=Count("pk", filter=Q(status=S.SUCCEEDED, finished_at__gte=since)),
    )
    running = list(
        Job.objects.filter(status=S.RUNNING)
        .order_by("started_at", "pk")
        .only("pk", "kind", "progress", "started_at")[:5]
    )
    since_iso = since.isoformat(timespec="seconds")

    def job_list(**query) -> str:
        return _url("admin:training_job_changelist", query=query)

    rows = [
        Row("running", str(counts["running"]), url=job_list(status__exact=S.RUNNING)),
        Row("queued", str(counts["queued"]), url=job_list(status__exact=S.QUEUED)),
        Row(
            "failed in the last 24 h",
            str(counts["failed"]),
            url=job_list(status__exact=S.FAILED, finished_at__gte=since_iso),
            level="bad" if counts["failed"] else "ok",
        ),
        Row(
            "succeeded in the last 24 h",
            str(counts["succeeded"]),
            url=job_list(status__exact=S.SUCCEEDED, finished_at__gte=since_iso),
        ),
    ]
    rows += [
        Row(
            f"#{job.pk} {job.kind}",
            f"{job.progress:.0%}",
            detail=f"started {_ago(job.started_at, now)}",
            url=_url("admin:training_job_change", job.pk),
        )
        for job in running
    ]
    return Tile(slug="jobs", title="Jobs", rows=tuple(rows), url=job_list())


# --- experiments -----------------------------------------------------------------------------


def _srm_text(verdict) -> tuple[str, str]:
    if verdict.srm_mismatch is None:
        return "SRM not checked yet", ""
    if verdict.srm_mismatch:
        return f"sample ratio mismatch (p = {verdict.srm_p_value:.2g})", "bad"
    return f"SRM ok (p = {verdict.srm_p_value:.2f})", "ok"


OUTCOME_LEVELS = {
    "winner": "ok",
    "guardrail breached": "bad",
    "loser": "warn",
    "not enough data": "",
    "no detectable difference": "",
}


def experiments_tile(*, now: datetime) -> Tile:
    """Running experiments with their cached verdict and SRM status (one query)."""
    from recommend.experiments.models import Experiment, ExperimentVerdict

    minutes = settings.EXPERIMENT_VERDICT_MINUTES
    running = list(
        Experiment.objects.filter(status=Experiment.Status.RUNNING)
        .select_related("verdict")
        .order_by("started_at", "pk")[:20]
    )
    rows = []
    for experiment in running:
        url = _url("admin:experiments_experiment_results", experiment.pk)
        try:
            verdict = experiment.verdict
        except ExperimentVerdict.DoesNotExist:
            verdict = None
        if verdict is None:
            rows.append(
                Row(
                    experiment.name,
                    "results pending",
                    detail=f"computed by beat every {minutes} min; open the results page to "
                    "compute them now",
                    url=url,
                )
            )
            continue
        if verdict.error:
            rows.append(
                Row(experiment.name, "results failed", detail=verdict.error, url=url, level="bad")
            )
            continue
        srm, srm_level = _srm_text(verdict)
        units = f"{verdict.units} units"
        if verdict.units_required:
            units += f" (needs {verdict.units_required} per variant)"
        sentence = verdict.sentence or "no verdict yet"
        rows.append(
            Row(
                experiment.name,
                verdict.outcome or "no data yet",
                detail=f"{sentence} {srm}; {units}; computed {_ago(verdict.computed_at, now)}",
                url=url,
                level="bad" if srm_level == "bad" else OUTCOME_LEVELS.get(verdict.outcome, ""),
            )
        )
    return Tile(
        slug="experiments",
        title="Experiments running",
        rows=tuple(rows),
        url=_url("admin:experiments_experiment_changelist", query={"status__exact": "running"}),
        empty="No experiment is running.",
    )


# --- alerts ----------------------------------------------------------------------------------


def alerts_tile() -> Tile:
    """Open and acknowledged alerts with the latest open ones, from the summary beat keeps in
    the cache (``platform_core.alerts.open_alerts_summary``: no query)."""
    from platform_core.alerts import open_alerts_summary

    summary = open_alerts_summary()
    url = _url("admin:platform_core_alert_changelist", query={"status__exact": "open"})
    count = int(summary.get("open", 0))
    rows = [Row("open", str(count), url=url, level="bad" if count else "ok")]
    if summary.get("acknowledged"):
        rows.append(Row("acknowledged", str(summary["acknowledged"]), level="warn"))
    rows += [
        Row(
            alert["title"],
            alert["subject"] or "",
            detail=alert["message"],
            url=_url("admin:platform_core_alert_change", alert["pk"]),
            level="bad",
        )
        for alert in summary.get("latest", [])[:3]
    ]
    return Tile(slug="alerts", title="Open alerts", rows=tuple(rows), url=url)


# --- buffers ---------------------------------------------------------------------------------


def buffers_tile() -> Tile:
    """Backlog, dead letters and drops per buffer (Redis only, no query)."""
    url = _url("admin:platform_core_deadletter_changelist")
    rows = []
    try:
        for name, buffer in sorted(buffers.REGISTRY.items()):
            stats = buffer.stats()
            backlog = stats["pending"] + stats["claimed"]
            dead, dropped = stats["dead_letters"], stats["dropped"]
            level = "ok"
            if backlog > settings.READYZ_BUFFER_BACKLOG_DEGRADED:
                level = "warn"
            if dead > settings.READYZ_DEAD_LETTERS_DEGRADED or dropped:
                level = "bad"
            rows.append(
                Row(
                    name,
                    f"{backlog} waiting",
                    detail=f"{dead} dead letters, {dropped} dropped",
                    url=url,
                    level=level,
                )
            )
    except Exception:  # the dashboard still opens when Redis does not answer
        logger.warning("dashboard: buffer stats failed", exc_info=True)
        rows = [Row("Redis", "unreachable", detail="buffer figures unavailable", level="bad")]
    return Tile(slug="buffers", title="Buffers", rows=tuple(rows), url=url, empty="No buffers.")


# --- traffic (rollups) -----------------------------------------------------------------------

# The windows every traffic tile shows, and each figure's title and format.
TRAFFIC_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("last 24 h", timedelta(hours=24)),
    ("last 7 days", timedelta(days=7)),
    ("last 30 days", timedelta(days=30)),
)
TRAFFIC_METRICS: tuple[tuple[str, str, str], ...] = (
    ("searches", "Searches", "count"),
    ("ctr", "Click-through rate", "rate"),
    ("add_to_cart_rate", "Add-to-cart rate from search", "rate"),
    ("purchase_rate", "Purchase rate from search", "rate"),
    ("zero_result_rate", "Zero-result rate", "rate"),
    ("latency_p50_ms", "Latency p50 (server)", "ms"),
    ("latency_p95_ms", "Latency p95 (server)", "ms"),
    ("events_ingested", "Events ingested", "count"),
)


# A figure's sparkline where the series' name differs from the overview's.
SERIES_OF = {"events_ingested": "events"}


def _figure(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "ms":
        return f"{value:.0f} ms"
    return f"{int(value):,}"


def _basis(key: str, overview: dict) -> str:
    """What a rate is a share of, where that is not every search: the zero-result rate counts
    served searches only (a search recorded as an event carries no result count), so a store
    whose history is mostly recorded events shows the small base it rests on."""
    if key != "zero_result_rate":
        return ""
    served = int((overview.get("requests_by_surface") or {}).get("search", 0))
    return f"of {served:,} served"


def traffic_tiles_from(
    overviews: dict[str, dict[str, float | None]],
    series: dict[str, list[tuple[datetime, float | None]]] | None = None,
) -> list[Tile]:
    """One tile per traffic figure, a row per window, and the figure's series as a sparkline.

    ``overviews`` maps a window's label (``TRAFFIC_WINDOWS``) to the analytics overview of that
    window (a dict with the keys of ``TRAFFIC_METRICS``); ``series`` maps a figure's key to its
    ``[(bucket start, value)]`` in time order.
    """
    series = series or {}
    tiles = []
    for key, title, kind in TRAFFIC_METRICS:
        rows = tuple(
            Row(
                label,
                _figure((overviews.get(label) or {}).get(key), kind),
                detail=_basis(key, overviews.get(label) or {}),
            )
            for label, _ in TRAFFIC_WINDOWS
            if label in overviews
        )
        points = tuple(float(v) if v is not None else float("nan") for _, v in series.get(key, ()))
        tiles.append(Tile(slug=f"traffic-{key}", title=title, rows=rows, series=points))
    return tiles


def traffic_tiles(now: datetime) -> list[Tile]:
    """The traffic tiles (24 h / 7 d / 30 d) with a 7-day hourly sparkline each, read from the
    rollups beat maintains (``recommend.analytics.selectors``): a fixed number of queries, however
    many events and requests there are."""
    from recommend.analytics import selectors as analytics

    overviews = {label: analytics.overview(now, window) for label, window in TRAFFIC_WINDOWS}
    series = {
        key: analytics.series(now, timedelta(days=7), SERIES_OF.get(key, key), "hour")
        for key, *_ in TRAFFIC_METRICS
    }
    return traffic_tiles_from(overviews, series)


# --- the page --------------------------------------------------------------------------------


def tiles_for(user, *, now: datetime) -> list[Tile]:
    """The tiles ``user`` may see: each needs the view permission of what it shows, so a
    learner in a lab (staff with a few catalog permissions) sees none."""
    tiles = []
    if user.has_perm("training.view_modelversion"):
        tiles.append(active_models_tile(now=now, can_launch=user.has_perm("training.add_job")))
    if user.has_perm("training.view_job"):
        tiles.append(jobs_tile(now=now))
    if user.has_perm("experiments.view_experiment"):
        tiles.append(experiments_tile(now=now))
    if user.has_perm("platform_core.view_alert"):
        tiles.append(alerts_tile())
    if user.has_perm("platform_core.view_deadletter"):
        tiles.append(buffers_tile())
    return tiles


def traffic_visible(user) -> bool:
    """Traffic figures are read from events and served searches: shown to whoever may view them."""
    return user.has_perm("catalog.view_event") and user.has_perm("catalog.view_searchlog")
