"""Load test of a RUNNING instance: N concurrent clients for a fixed time, then served = stored?

    .venv/bin/python bench/load.py --base-url http://127.0.0.1:8000 --api-key KEY \\
        [--clients 16] [--duration 60] [--kill-worker-after 20]

Each client (a thread with its own keep-alive connection) mixes searches (queries cut from the
catalogue's titles), recommendations and event batches (10 events, unique ids, some answering
a served search's request id) until the time is up. At the end it prints requests, errors by
kind and p50/p95/p99 per endpoint, then waits for the search-log buffer to drain (polls the
database until the count of stored rows stops changing, bounded by ``--drain-timeout``) and
compares the request ids of the searches served (from the responses' ``request_id``) with
those of the stored search logs: missing (served, never stored) and extra (stored, never
served to a client, in the run's window) must both be 0.

``--kill-worker-after S`` SIGKILLs, S seconds in, one gunicorn worker (a child of the gunicorn
master listening on the base URL's port, found with psutil) and the Celery worker process that
consumes the ``flush`` queue (``celery … worker … -Q …flush…``; ``default`` when no worker
has a flush queue). ``manage.py run_platform`` restarts the Celery worker and gunicorn its
worker. Requests that fail on a connection to a killed worker (in flight at the kill, or a
kept-alive connection opened before it) are counted apart ("killed connections"); a 429 (the
key's rate on the instance) is counted apart too and the client waits its Retry-After; every
other failure counts as an error. The exit status is 0 when there is no error and served =
stored (a search answered by the killed worker may be stored without its answer arriving: at
most as many extras as killed searches are accounted to them).

The API key needs the ``read`` and ``events`` scopes. Only loopback addresses are accepted as
targets. The database is read with psycopg from ``DATABASE_URL`` (``--database-url``), or the
embedded server's when unset — the instance's own database.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MAX_DURATION = 600.0
CONNECTION_ERRORS = (
    ConnectionError,
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
    http.client.IncompleteRead,
    BrokenPipeError,
)


# --------------------------------------------------------------------------- target and data


def require_loopback(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"--base-url must be http://HOST:PORT on this machine, got {base_url!r}")
    port = parts.port or 80
    addresses = {
        info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    }
    if not addresses or not all(
        ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses
    ):
        raise SystemExit(
            f"refusing {parts.hostname!r}: only loopback addresses are load-tested ({sorted(addresses)})"
        )
    return parts.hostname, port


def database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if not os.environ.get("DATABASE_URL"):
        from platform_core.embedded import export_environment

        export_environment()
    return os.environ["DATABASE_URL"]


@dataclass
class Catalogue:
    queries: list[str]
    products: list[str]
    shoppers: list[str]


def load_catalogue(url: str, rng: random.Random) -> Catalogue:
    import psycopg

    with psycopg.connect(url) as conn:
        titles = [
            r[0]
            for r in conn.execute(
                "SELECT title FROM catalog_product WHERE active ORDER BY id LIMIT 2000"
            )
        ]
        products = [
            r[0]
            for r in conn.execute(
                "SELECT external_id FROM catalog_product WHERE active ORDER BY id LIMIT 2000"
            )
        ]
        shoppers = [
            r[0]
            for r in conn.execute("SELECT external_id FROM catalog_shopper ORDER BY id LIMIT 2000")
        ]
    if not titles:
        raise SystemExit(
            "the instance's catalogue is empty: load a store first (manage.py demo_store)"
        )
    queries = []
    for title in titles:
        words = title.split()
        take = rng.randint(1, min(3, len(words)))
        start = rng.randint(0, len(words) - take)
        queries.append(" ".join(words[start : start + take]).lower())
    return Catalogue(
        queries=queries, products=products, shoppers=shoppers or [f"load-{i}" for i in range(200)]
    )


# --------------------------------------------------------------------------- results


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)  # (endpoint, kind)
    killed: Counter = field(
        default_factory=Counter
    )  # endpoint → requests lost with a killed worker
    throttled: Counter = field(default_factory=Counter)  # endpoint → 429 answers (the key's rate)
    served_search_ids: set[str] = field(default_factory=set)
    recent_ids: list[str] = field(default_factory=list)
    events_sent: int = 0
    events_accepted: int = 0

    def record(self, endpoint: str, seconds: float | None, error: str | None = None) -> None:
        with self.lock:
            if error:
                self.errors[(endpoint, error)] += 1
            else:
                self.latencies[endpoint].append(seconds)


class Killer:
    """Kills the workers once, at ``after`` seconds, and remembers when."""

    def __init__(self, port: int, after: float | None):
        self.port, self.after, self.killed_at = port, after, None
        self.report: list[str] = []

    def in_flight_at_kill(self, started: float) -> bool:
        return self.killed_at is not None and started <= self.killed_at

    def run(self, start: float, stop: threading.Event) -> None:
        if self.after is None or stop.wait(self.after):
            return
        import psutil

        gunicorn = _gunicorn_worker(psutil, self.port)
        celery = _celery_flush_worker(psutil)
        self.killed_at = time.perf_counter()
        for label, proc in (("gunicorn worker", gunicorn), ("celery flush worker", celery)):
            if proc is None:
                self.report.append(f"{label}: none found")
                continue
            line = " ".join(_cmdline(proc))[:120]
            try:
                os.kill(proc.pid, signal.SIGKILL)
                self.report.append(
                    f"{label}: SIGKILL pid {proc.pid} at {self.killed_at - start:.1f}s ({line})"
                )
            except (ProcessLookupError, psutil.Error) as exc:
                self.report.append(f"{label}: pid {proc.pid} could not be killed ({exc})")


def _cmdline(proc) -> list[str]:
    try:
        return proc.cmdline()
    except Exception:  # access denied, gone
        return []


def _gunicorn_worker(psutil, port: int):
    masters = []
    for proc in psutil.process_iter(["pid"]):
        line = " ".join(_cmdline(proc))
        if "gunicorn" not in line:
            continue
        try:
            parent = proc.parent()
        except psutil.Error:
            continue
        if parent is not None and "gunicorn" in " ".join(_cmdline(parent)):
            continue  # a worker, not a master
        masters.append(proc)

    def listens(master) -> bool:
        try:
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                for c in master.net_connections(kind="tcp")
            )
        except psutil.Error:
            return f":{port}" in " ".join(_cmdline(master))

    for master in sorted(masters, key=lambda m: not listens(m)):
        children = master.children()
        if children:
            return random.choice(children)
    return None


def _celery_flush_worker(psutil):
    candidates: dict[str, list] = {"flush": [], "default": []}
    for proc in psutil.process_iter(["pid"]):
        args = _cmdline(proc)
        if "celery" not in " ".join(args) or "worker" not in args:
            continue
        queues = ""
        for i, arg in enumerate(args):
            if arg in ("-Q", "--queues") and i + 1 < len(args):
                queues = args[i + 1]
            elif arg.startswith(("--queues=", "-Q=")):
                queues = arg.split("=", 1)[1]
        names = set(queues.split(","))
        for key in candidates:
            if key in names:
                candidates[key].append(proc)
    for key in ("flush", "default"):
        if candidates[key]:
            # the pool's parent: the process whose parent is not itself a celery worker
            procs = candidates[key]
            pids = {p.pid for p in procs}
            roots = [p for p in procs if p.ppid() not in pids]
            return (roots or procs)[0]
    return None


# --------------------------------------------------------------------------- clients


class Client(threading.Thread):
    def __init__(
        self,
        index: int,
        *,
        host: str,
        port: int,
        key: str,
        catalogue: Catalogue,
        deadline: float,
        results: Results,
        killer: Killer,
        weights: dict[str, int],
        seed: int,
    ):
        super().__init__(name=f"client-{index}", daemon=True)
        self.host, self.port, self.catalogue = host, port, catalogue
        self.headers = {"Authorization": f"Api-Key {key}", "Accept": "application/json"}
        self.deadline, self.results, self.killer = deadline, results, killer
        self.rng = random.Random(seed * 1000 + index)
        self.ops = [op for op, w in weights.items() for _ in range(w)]
        self.conn: http.client.HTTPConnection | None = None
        self.conn_opened = 0.0

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn_opened = time.perf_counter()
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            return response.status, json.loads(payload) if payload else None
        except ValueError:
            return response.status, None

    def run(self) -> None:
        while time.perf_counter() < self.deadline:
            op = self.rng.choice(self.ops)
            method, path, body = getattr(self, f"make_{op}")()
            started = time.perf_counter()
            if self.conn is None:
                self.conn_opened = started
            try:
                status, payload = self.request(method, path, body)
            except CONNECTION_ERRORS as exc:
                self._drop()
                # in flight at the kill, or a kept-alive connection to the killed worker
                if self.killer.in_flight_at_kill(min(started, self.conn_opened)):
                    with self.results.lock:
                        self.results.killed[op] += 1
                else:
                    self.results.record(op, None, f"connection: {type(exc).__name__}")
                continue
            except TimeoutError:
                self._drop()
                self.results.record(op, None, "timeout")
                continue
            except OSError as exc:
                self._drop()
                self.results.record(op, None, f"os: {type(exc).__name__}")
                continue
            elapsed = time.perf_counter() - started
            if status == 429:  # the instance's rate for this key: wait as told, count apart
                with self.results.lock:
                    self.results.throttled[op] += 1
                wait = ((payload or {}).get("error") or {}).get("details") or {}
                time.sleep(min(float(wait.get("retry_after_seconds") or 1.0), 5.0))
                continue
            if status >= 400 or payload is None:
                self.results.record(op, None, f"http {status}" if status >= 400 else "not json")
                continue
            self.results.record(op, elapsed)
            if op == "search":
                request_id = payload.get("request_id")
                with self.results.lock:
                    if request_id:
                        self.results.served_search_ids.add(request_id)
                        self.results.recent_ids.append(request_id)
                        del self.results.recent_ids[:-200]
            elif op == "events":
                with self.results.lock:
                    self.results.events_sent += len(body["events"])
                    self.results.events_accepted += int(payload.get("accepted", 0))
        self._drop()

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _shopper(self) -> str:
        return self.rng.choice(self.catalogue.shoppers)

    def make_search(self):
        params = {
            "q": self.rng.choice(self.catalogue.queries),
            "shopper": self._shopper(),
            "session": f"load-{self.name}",
        }
        return "GET", f"/api/v1/search?{urlencode(params)}", None

    def make_recommendations(self):
        params = {"shopper": self._shopper(), "size": 10}
        return "GET", f"/api/v1/recommendations?{urlencode(params)}", None

    def make_events(self):
        with self.results.lock:
            recent = list(self.results.recent_ids[-50:])
        now = datetime.now(UTC).isoformat()
        events = []
        for _ in range(10):
            event = {
                "event_id": f"load-{uuid.uuid4().hex}",
                "shopper": self._shopper(),
                "type": self.rng.choice(("view", "view", "click", "add_to_cart")),
                "product": self.rng.choice(self.catalogue.products),
                "timestamp": now,
            }
            if recent and self.rng.random() < 0.5:
                event["request_id"] = self.rng.choice(recent)
            events.append(event)
        return "POST", "/api/v1/events", {"events": events}


# --------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stored_ids(url: str, served: set[str], since: datetime) -> tuple[set[str], set[str]]:
    """(served ids that are stored, ids stored since ``since`` that were never served to us)."""
    import psycopg

    found: set[str] = set()
    ids = sorted(served)
    with psycopg.connect(url) as conn:
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            found.update(
                r[0]
                for r in conn.execute(
                    "SELECT request_id FROM catalog_searchlog WHERE request_id = ANY(%s)", [chunk]
                )
            )
        window = {
            r[0]
            for r in conn.execute(
                "SELECT request_id FROM catalog_searchlog WHERE timestamp >= %s", [since]
            )
        }
    return found, window - served


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base-url", default=os.environ.get("AISLE_BASE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("AISLE_API_KEY"),
        help="a key with the read and events scopes (or AISLE_API_KEY)",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--duration", type=float, default=60.0, help=f"seconds (at most {MAX_DURATION:g})"
    )
    parser.add_argument(
        "--mix",
        default="search=6,recommendations=3,events=1",
        help="relative weights of search, recommendations and events",
    )
    parser.add_argument(
        "--kill-worker-after",
        type=float,
        default=None,
        metavar="S",
        help="SIGKILL one gunicorn worker and the flush Celery worker S seconds in",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="how long to wait for the search logs to be stored (seconds)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="the instance's database (default: DATABASE_URL "
        "or the embedded server's `aisle` database)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key (or AISLE_API_KEY) is required")
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be 1-256")
    duration = min(max(args.duration, 1.0), MAX_DURATION)
    weights = {}
    for part in args.mix.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ("search", "recommendations", "events"):
            parser.error(f"--mix: unknown operation {name!r}")
        weights[name.strip()] = int(weight or 1)
    host, port = require_loopback(args.base_url)
    db_url = database_url(args.database_url)
    rng = random.Random(args.seed)
    catalogue = load_catalogue(db_url, rng)

    since = datetime.now(UTC)
    results = Results()
    killer = Killer(port, args.kill_worker_after)
    start = time.perf_counter()
    deadline = start + duration
    clients = [
        Client(
            i,
            host=host,
            port=port,
            key=args.api_key,
            catalogue=catalogue,
            deadline=deadline,
            results=results,
            killer=killer,
            weights=weights,
            seed=args.seed,
        )
        for i in range(args.clients)
    ]
    stop = threading.Event()
    kill_thread = threading.Thread(target=killer.run, args=(start, stop), daemon=True)
    kill_thread.start()
    print(
        f"{args.clients} clients for {duration:g}s against {args.base_url} "
        f"({len(catalogue.queries)} queries, mix {weights})",
        flush=True,
    )
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=duration + 60)
    stop.set()
    wall = time.perf_counter() - start

    total = sum(len(v) for v in results.latencies.values())
    errors = sum(results.errors.values())
    killed = sum(results.killed.values())
    throttled = sum(results.throttled.values())
    sent = total + errors + killed + throttled
    print(
        f"\nrequests: {sent} in {wall:.1f}s ({sent / wall:.0f}/s); ok {total}, errors {errors}, "
        f"killed connections {killed}, throttled (429) {throttled}"
    )
    if throttled:
        print(
            "  (429: the key's rate on the instance, e.g. API_EVENTS_THROTTLE_RATE; clients waited Retry-After)"
        )
    for line in killer.report:
        print(f"  kill: {line}")
    print(
        f"\n{'endpoint':<16}{'ok':>8}{'errors':>8}{'killed':>8}{'429':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"
    )
    for op in weights:
        lat = [s * 1000 for s in results.latencies.get(op, [])]
        errs = sum(n for (endpoint, _), n in results.errors.items() if endpoint == op)
        print(
            f"{op:<16}{len(lat):>8}{errs:>8}{results.killed.get(op, 0):>8}{results.throttled.get(op, 0):>6}"
            f"{percentile(lat, 50):>10.1f}{percentile(lat, 95):>10.1f}{percentile(lat, 99):>10.1f}"
        )
    if results.errors:
        print("\nerrors by kind:")
        for (op, kind), n in sorted(results.errors.items()):
            print(f"  {op:<16}{kind:<40}{n:>6}")
    print(f"\nevents: sent {results.events_sent}, accepted {results.events_accepted}")

    served = results.served_search_ids
    print(
        f"\nserved searches with a request id: {len(served)}; waiting for the search logs to be stored "
        f"(at most {args.drain_timeout:g}s)...",
        flush=True,
    )
    drain_deadline = time.monotonic() + args.drain_timeout
    previous, stable = -1, 0
    while True:
        found, extra = stored_ids(db_url, served, since)
        if len(found) == len(served):
            break
        stable = stable + 1 if len(found) == previous else 0
        previous = len(found)
        # stop when the count has not moved for 10 polls (20 s) or the time is up
        if stable >= 10 or time.monotonic() > drain_deadline:
            break
        time.sleep(2)
    missing = served - found
    print(f"stored: {len(found)} of {len(served)}; missing {len(missing)}, extra {len(extra)}")
    # a search answered by a worker killed before the answer left it was served (and logged)
    # by the server but never received: such extras are the killed connections, no more
    killed_searches = results.killed.get("search", 0)
    same = not missing and not extra
    explained = not missing and len(extra) <= killed_searches
    if same:
        print("served = stored: yes, the same set")
    elif explained:
        print(
            f"served = stored: yes, except {len(extra)} stored for searches whose connection was killed "
            f"before the answer arrived ({killed_searches} killed in flight)"
        )
    else:
        print("served = stored: NO")
    if missing:
        print("  missing (first 5): " + ", ".join(sorted(missing)[:5]))
    if extra:
        print("  extra (first 5): " + ", ".join(sorted(extra)[:5]))
    return 0 if (same or explained) and errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
