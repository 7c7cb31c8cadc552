"""The Django side of the traffic simulator: the demo store's truth and catalogue as the
simulator's index, transports to the real API (in-process test client, or HTTP against a
running server), a ``simulate``-scoped API key, and the flushes at the end of each simulated
day. The behaviour itself is plain Python in ``recommend.experiments.logic.simulator``."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db.models import Count, Max

from recommend.experiments.logic.simulator import (
    SimConfig,
    SimReport,
    TrafficSimulator,
    products_for_index,
)

SIMULATOR_CLIENT = "traffic-simulator"
SIMULATED_TIME_HEADER = "X-Aisle-Simulated-Time"


class SimulationError(RuntimeError):
    """The simulation cannot run (no demo store, no truth files, API refused)."""


# --------------------------------------------------------------------------- transports


class TestClientTransport:
    """The real API in this process, through Django's test client (one client per thread)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._local = threading.local()

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            from django.test import Client

            client = self._local.client = Client(HTTP_AUTHORIZATION=f"Api-Key {self.key}")
        return client

    def get(self, path: str, params: Mapping[str, Any], simulated_time: datetime) -> dict[str, Any]:
        response = self._client().get(
            f"/api/v1/{path}", params, headers={SIMULATED_TIME_HEADER: simulated_time.isoformat()}
        )
        if response.status_code != 200:
            raise SimulationError(
                f"GET {path} → {response.status_code}: {response.content[:300]!r}"
            )
        return response.json()

    def post_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        response = self._client().post(
            "/api/v1/events", json.dumps({"events": events}), content_type="application/json"
        )
        if response.status_code not in (200, 202):
            raise SimulationError(
                f"POST events → {response.status_code}: {response.content[:300]!r}"
            )
        return response.json()


class HttpTransport:
    """The real API of a running server (keep-alive connection per thread)."""

    def __init__(self, base_url: str, key: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SimulationError(f"--url must look like http://127.0.0.1:8000, not {base_url!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.key, self.timeout = key, timeout
        self._local = threading.local()

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                cls = (
                    http.client.HTTPSConnection
                    if self.scheme == "https"
                    else http.client.HTTPConnection
                )
                conn = self._local.conn = cls(self.host, self.port, timeout=self.timeout)
            try:
                conn.request(
                    method,
                    self.prefix + path,
                    body=body,
                    headers={"Authorization": f"Api-Key {self.key}", **headers},
                )
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, params: Mapping[str, Any], simulated_time: datetime) -> dict[str, Any]:
        status, data = self._request(
            "GET",
            f"/api/v1/{path}?{urlencode(params)}",
            None,
            {SIMULATED_TIME_HEADER: simulated_time.isoformat()},
        )
        if status != 200:
            raise SimulationError(f"GET {path} → {status}: {data[:300]!r}")
        return json.loads(data)

    def post_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        status, data = self._request(
            "POST",
            "/api/v1/events",
            json.dumps({"events": events}).encode(),
            {"Content-Type": "application/json"},
        )
        if status not in (200, 202):
            raise SimulationError(f"POST events → {status}: {data[:300]!r}")
        return json.loads(data)


# --------------------------------------------------------------------------- setup


def simulator_api_key() -> str:
    """A fresh key of the ``traffic-simulator`` API client (read, events, simulate scopes);
    the client is created on first use and its key rotated on later runs."""
    from platform_core.models import ApiClient
    from platform_core.services import api_client_create, api_client_rotate

    client = ApiClient.objects.filter(name=SIMULATOR_CLIENT).first()
    if client is None:
        _, key = api_client_create(name=SIMULATOR_CLIENT, scopes="read,events,simulate")
        return key
    if not client.active or set(client.scopes) != {"read", "events", "simulate"}:
        client.active, client.scopes = True, ["read", "events", "simulate"]
        client.save(update_fields=["active", "scopes"])
    return api_client_rotate(client=client)


def load_tastes(truth_dir: Path | None = None) -> dict[str, dict]:
    folder = Path(truth_dir) if truth_dir else Path(settings.DATA_DIR) / "demo"
    path = folder / "tastes.json"
    if not path.exists():
        raise SimulationError(
            f"No demo-store truth at {path}: build the demo store first "
            "(manage.py demo_store), or pass --truth-dir."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def store_index():
    """The demo generator's StoreIndex over the live catalogue, popularity from events."""
    from catalog.demo import StoreIndex
    from catalog.models import Event, Product

    rows = list(
        Product.objects.filter(active=True)
        .order_by("pk")
        .values(
            "pk",
            "external_id",
            "price",
            "stock",
            "attributes",
            "active",
            "category__external_id",
            "brand__name",
        )
    )
    if not rows:
        raise SimulationError(
            "The catalogue is empty: build the demo store first (manage.py demo_store)."
        )
    engaged = dict(
        Event.objects.filter(type__in=("view", "click", "purchase"), product__isnull=False)
        .values_list("product_id")
        .annotate(n=Count("id"))
        .values_list("product_id", "n")
    )
    products = products_for_index(
        [{**r, "category": r["category__external_id"], "brand": r["brand__name"]} for r in rows]
    )
    return StoreIndex(products, popularity=[1.0 + engaged.get(r["pk"], 0) for r in rows])


def default_start() -> datetime:
    """The next midnight (UTC) after the latest event or served search: the simulated clock
    continues the store's history, so the days before it are the CUPED pre-period."""
    from catalog.models import Event, SearchLog
    from recommend.experiments.models import Exposure

    latest = [m.objects.aggregate(t=Max("timestamp"))["t"] for m in (Event, SearchLog, Exposure)]
    latest = [t for t in latest if t is not None]
    moment = max(latest) if latest else datetime.now(UTC)
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)


def flush_buffers() -> tuple[int, int, int]:
    """Write the queued search logs, exposures and served requests now (beat does it every
    10 s): an experiment's results attribute events through the served requests."""
    from recommend import services
    from recommend.analytics import services as analytics_services
    from recommend.experiments import services as experiment_services

    return (
        services.searchlogs_flush(),
        experiment_services.exposures_flush(),
        analytics_services.served_flush(),
    )


def traffic_simulate(
    *,
    shoppers: int,
    days: int,
    seed: int,
    start: datetime | None = None,
    url: str | None = None,
    api_key: str | None = None,
    truth_dir: Path | None = None,
    sessions_per_day: float = 1.0,
    search_share: float = 0.7,
    similar_after_click: float = 0.3,
    request_id_share: float = 1.0,
    plant: Mapping[str, float] | None = None,
    promotion_slot: str = "",
    workers: int = 1,
    log: Callable[[str], None] | None = None,
    on_day_end: Callable[[int, SimReport], None] | None = None,
) -> SimReport:
    """Drive ``shoppers`` demo shoppers through the API for ``days`` simulated days.
    ``on_day_end(day, report)`` runs after each day's buffers are flushed (a job's progress
    and cancel point)."""
    from catalog.models import Shopper

    log = log or (lambda _msg: None)
    tastes = load_tastes(truth_dir)
    known = set(
        Shopper.objects.filter(external_id__in=list(tastes)).values_list("external_id", flat=True)
    )
    tastes = {k: v for k, v in tastes.items() if k in known}
    if not tastes:
        raise SimulationError(
            "None of the demo store's shoppers is in the database: build the demo store first."
        )
    index = store_index()
    key = api_key or simulator_api_key()
    transport = HttpTransport(url, key) if url else TestClientTransport(key)
    config = SimConfig(
        shoppers=shoppers,
        days=days,
        seed=seed,
        start=start or default_start(),
        sessions_per_day=sessions_per_day,
        search_share=search_share,
        similar_after_click=similar_after_click,
        request_id_share=request_id_share,
        plant=dict(plant or {}),
        promotion_slot=promotion_slot,
        workers=workers,
    )
    simulator = TrafficSimulator(config, index, tastes, transport, log=log)

    def day_end(day: int, report: SimReport) -> None:
        logs, exposures, served = flush_buffers()
        log(
            f"day {day + 1}/{days} ({(config.start + timedelta(days=day)):%Y-%m-%d}): {report.sessions} sessions, "
            f"requests {dict(sorted(report.requests.items()))}, variants {dict(sorted(report.variants.items()))}; "
            f"flushed {logs} search logs, {exposures} exposures, {served} served requests"
        )
        if on_day_end is not None:
            on_day_end(day, report)

    log(
        f"Simulating {len(simulator.shoppers)} shoppers for {days} days from {config.start:%Y-%m-%d %H:%M} UTC "
        f"(seed {seed}) through {'HTTP ' + url if url else 'the in-process API client'}."
    )
    return simulator.run(on_day_end=day_end)
