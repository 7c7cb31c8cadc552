"""Prometheus metrics: the instruments the request path updates, and the gauges read at scrape time.

Two kinds of figures, one endpoint (``/metrics``, :mod:`platform_core.metrics_endpoint`):

- **In-process instruments** (counters and histograms below), updated by the code that serves:
  request latency per endpoint and the serving stages (:class:`MetricsMiddleware`, from the
  ``Server-Timing`` header every serving response carries), the result and query-vector cache
  lookups, searches with and without results, events ingested. Under gunicorn every worker is a
  process of its own: with ``PROMETHEUS_MULTIPROC_DIR`` set (``run_platform`` and docker compose
  set it for the web server; ``platform_core.gunicorn_config`` empties it at start and marks
  dead workers) each process writes its values to files there and the endpoint sums them —
  ``prometheus_client``'s multi-process mode. Without it (``runserver``, tests) the process's
  own registry is read.
- **Scrape-time gauges** (:func:`register_gauges`): figures that live in PostgreSQL or Redis —
  jobs by kind and status, Celery queue lengths, buffer backlogs and dead letters, open alerts
  — computed by cheap queries when Prometheus scrapes, never stored in the processes. Apps
  register theirs in ``AppConfig.ready()``; a source that fails is reported as
  ``aisle_metrics_source_up{source=...} 0`` and the others are still served.

Why ``prometheus_client`` and not django-prometheus: its multi-process mode is the documented
way to serve one consistent set of figures from several gunicorn workers, and the handful of
instruments Aisle needs (per endpoint, per serving stage) read better written out here than as
django-prometheus's per-model and per-view families.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# The files of multi-process mode must have a folder before the first instrument is created.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import Counter, Histogram  # after the folder exists

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_REQUEST_SECONDS = Histogram(
    "aisle_http_request_duration_seconds",
    "Time from the first middleware to the response, per endpoint (URL route), method and "
    "status class.",
    ["endpoint", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
SERVING_STAGE_SECONDS = Histogram(
    "aisle_serving_stage_duration_seconds",
    "Serving pipeline stages (the Server-Timing header: spell, intent, encode, semantic, "
    "fusion, rank, facets, explain, cf, diversity, total ...), per endpoint.",
    ["endpoint", "stage"],
    buckets=_STAGE_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "aisle_serving_cache_lookups",
    "Serving cache lookups by cache (result, query_vector) and result (hit, miss); "
    "hit ratio = rate(hits) / rate(all).",
    ["cache", "result"],
)
SEARCHES = Counter(
    "aisle_searches",
    "Searches served, by outcome (results, zero_results).",
    ["outcome"],
)
EVENTS_INGESTED = Counter(
    "aisle_events_ingested",
    "Shopper events received by the events API, by outcome (accepted, duplicate, rejected).",
    ["outcome"],
)


def cache_lookup(cache: str, hit: bool) -> None:
    """Count one serving cache lookup (``cache``: result or query_vector)."""
    CACHE_LOOKUPS.labels(cache=cache, result="hit" if hit else "miss").inc()


def search_served(*, result_count: int) -> None:
    """Count one served search by whether it found anything."""
    SEARCHES.labels(outcome="results" if result_count else "zero_results").inc()


def events_ingested(*, accepted: int, duplicate: int, rejected: int) -> None:
    """Count one batch of the events API by outcome."""
    for outcome, count in (
        ("accepted", accepted),
        ("duplicate", duplicate),
        ("rejected", rejected),
    ):
        if count:
            EVENTS_INGESTED.labels(outcome=outcome).inc(count)


# --------------------------------------------------------------------------- request timing


def _endpoint(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + (match.route or match.view_name or "")


def parse_server_timing(header: str) -> dict[str, float]:
    """``{"stage": milliseconds}`` from a ``Server-Timing`` header (entries without ``dur`` —
    notes such as ``cache;desc="hit"`` — are left out)."""
    stages: dict[str, float] = {}
    for entry in header.split(","):
        name, _, params = entry.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur" and name:
                with contextlib.suppress(ValueError):
                    stages[name.strip()] = float(value)
    return stages


class MetricsMiddleware:
    """Time every request (first in ``MIDDLEWARE``) and the serving stages it reports."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        # Recorded from close(), once the server has sent the response (a search reports a dozen
        # stages): the time is the response's, the bookkeeping is not.
        response._resource_closers.append(lambda: _observe(request, response, seconds))
        return response


def _observe(request, response, seconds: float) -> None:
    try:
        endpoint = _endpoint(request)
        HTTP_REQUEST_SECONDS.labels(
            endpoint=endpoint,
            method=request.method if request.method in _METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(seconds)
        timing = response.get("Server-Timing")
        if timing:
            for stage, ms in parse_server_timing(timing).items():
                SERVING_STAGE_SECONDS.labels(endpoint=endpoint, stage=stage).observe(ms / 1000)
    except Exception:  # a metric must never fail a request (close() would swallow it unlogged)
        logger.warning("request metrics failed", exc_info=True)


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


# --------------------------------------------------------------------------- scrape-time gauges


@dataclass
class ScrapeGauge:
    """One gauge family computed at scrape time: ``samples`` are (label values, value)."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


#: ``{source name: callable returning ScrapeGauge families}``, filled by the apps at ready().
_gauge_sources: dict[str, Callable[[], Iterable[ScrapeGauge]]] = {}


def register_gauges(name: str, source: Callable[[], Iterable[ScrapeGauge]]) -> None:
    """Add a scrape-time source (cheap queries only: it runs on every scrape)."""
    _gauge_sources[name] = source


class ScrapeCollector:
    """The registered sources as Prometheus metric families, each source isolated."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(
            "aisle_metrics_source_up",
            "1 when a scrape-time source (jobs, queues, buffers, alerts ...) could be read.",
            labels=["source"],
        )
        families = []
        for source_name, source in sorted(_gauge_sources.items()):
            try:
                gauges = list(source())
            except Exception:
                logger.warning("metrics source %s failed", source_name, exc_info=True)
                up.add_metric([source_name], 0)
                continue
            up.add_metric([source_name], 1)
            for gauge in gauges:
                family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)
                for label_values, value in gauge.samples:
                    family.add_metric(list(label_values), float(value))
                families.append(family)
        yield up
        yield from families


def _platform_gauges() -> list[ScrapeGauge]:
    """Celery queue lengths and the buffers' backlog, dead letters and drops (Redis)."""
    from platform_core import buffers, health

    client = buffers.redis_client()
    pipe = client.pipeline(transaction=False)
    for queue in health.QUEUES:
        pipe.llen(queue)
    lengths = pipe.execute()
    queues = ScrapeGauge(
        "aisle_celery_queue_length",
        "Tasks waiting in each Celery queue (Redis list length).",
        ("queue",),
        [((queue,), n) for queue, n in zip(health.QUEUES, lengths, strict=True)],
    )
    backlog = ScrapeGauge(
        "aisle_buffer_backlog_rows",
        "Rows waiting in each buffer, claimed ones included.",
        ("buffer",),
    )
    dead = ScrapeGauge(
        "aisle_buffer_dead_letters", "Rows a flush could not store, per buffer.", ("buffer",)
    )
    dropped = ScrapeGauge(
        "aisle_buffer_dropped_rows",
        "Rows dropped because the buffer was full, since the counter was created.",
        ("buffer",),
    )
    for name, buffer in sorted(buffers.REGISTRY.items()):
        stats = buffer.stats()
        backlog.samples.append(((name,), stats["pending"] + stats["claimed"]))
        dead.samples.append(((name,), stats["dead_letters"]))
        dropped.samples.append(((name,), stats["dropped"]))
    return [queues, backlog, dead, dropped]


register_gauges("platform", _platform_gauges)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every instrument (summed over the workers in multi-process
    mode) and every scrape-time source; ``(body, content type)``."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(ScrapeCollector())
    return body + generate_latest(scrape), CONTENT_TYPE_LATEST
