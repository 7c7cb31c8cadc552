"""Event ingestion throughput, in batches of 1,000, next to a raw COPY of the same rows.

    .venv/bin/python bench/ingest.py [--batches 20] [--batch-size 1000] [--preload 0]

Runs against a database of its own (``aisle_bench`` on the same PostgreSQL server; created and
migrated on first use, emptied before and after each run), so the development data is never
touched. Measures, for the same kind of rows:

* ``service``  — ``catalog.services.events.events_ingest_objects`` (validation, product lookup, shopper
  upsert, ``INSERT ... ON CONFLICT (event_id) DO NOTHING``, profile-version bump), one
  transaction per batch;
* ``http``     — ``POST /api/v1/events`` through Django's test client (middleware, API-key
  authentication, throttling, JSON parsing, the same service);
* ``http dup`` — the same requests again: every event a duplicate;
* ``copy``     — psycopg ``COPY catalog_event FROM STDIN`` of the already-resolved rows, one
  commit per batch: the floor nothing with validation can beat.

The target is 5,000 events/s in batches of 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DB = "aisle_bench"


def _bench_database_url() -> str:
    """Point DATABASE_URL at the benchmark database (created when missing)."""
    from platform_core.embedded import export_environment

    export_environment()
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    import psycopg

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    bench_url = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return bench_url


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = _bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    # measure ingestion, not the per-client rate limit
    os.environ["API_EVENTS_THROTTLE_RATE"] = "1000000/min"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "catalog", verbosity=0)


def _empty_catalog() -> None:
    from catalog.services.demo import catalog_truncate

    catalog_truncate()


def _batches(
    kind: str, *, batches: int, size: int, products: list[str], shoppers: list[str]
) -> list[list[dict]]:
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    types = ["view"] * 6 + ["click"] * 3 + ["add_to_cart", "search", "purchase"]
    out = []
    for b in range(batches):
        batch = []
        for i in range(size):
            n = b * size + i
            etype = rng.choice(types)
            event = {
                "event_id": f"{kind}-{n}",
                "shopper": rng.choice(shoppers),
                "type": etype,
                "timestamp": (start + timedelta(seconds=n)).isoformat(),
                "session": f"s-{n // 20}",
            }
            if etype == "search":
                event["query"] = rng.choice(
                    ["red running shoes", "wireless earbuds", "coffee grinder", "tent 2p"]
                )
            else:
                event["product"] = rng.choice(products)
                event["position"] = rng.randint(1, 10) if etype == "click" else None
                event["value"] = round(rng.uniform(5, 200), 2) if etype == "purchase" else None
            batch.append(event)
        out.append(batch)
    return out


def _timed(send) -> float:
    started = time.perf_counter()
    send()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--shoppers", type=int, default=2000)
    parser.add_argument(
        "--preload",
        type=int,
        default=0,
        help="Events COPYed in first, so indexes are not tiny (e.g. 200000).",
    )
    args = parser.parse_args()
    _setup_django()

    from django.db import connection
    from django.test import Client

    from catalog.models import Event, Product, Shopper
    from catalog.services.events import events_ingest_objects, shopper_ids_ensure
    from platform_core.services import api_client_create

    _empty_catalog()
    products = [f"bp-{i}" for i in range(args.products)]
    shoppers = [f"bs-{i}" for i in range(args.shoppers)]
    Product.objects.bulk_create(
        [Product(external_id=p, title=f"Bench product {p}", price=10) for p in products],
        batch_size=2000,
    )
    # half the shoppers exist, half are created by the events
    Shopper.objects.bulk_create(
        [Shopper(external_id=s) for s in shoppers[: len(shoppers) // 2]], batch_size=2000
    )
    product_ids = dict(Product.objects.values_list("external_id", "id"))
    if args.preload:
        pre = _batches(
            "pre",
            batches=1,
            size=args.preload,
            products=products,
            shoppers=shoppers[: len(shoppers) // 2],
        )[0]
        shopper_ids = dict(Shopper.objects.values_list("external_id", "id"))
        _copy(pre, product_ids, shopper_ids)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_event")

    from platform_core.models import ApiClient

    ApiClient.objects.filter(name="bench-ingest").delete()
    _, key = api_client_create(name="bench-ingest", scopes="events")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}

    def post(batch):
        response = client.post(
            "/api/v1/events",
            data=json.dumps({"events": batch}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 202, response.content[:300]
        return response.json()

    # The methods take turns batch by batch, so a busy machine slows them alike.
    sets = {
        label: _batches(
            label, batches=args.batches, size=args.batch_size, products=products, shoppers=shoppers
        )
        for label in ("service", "http", "copy")
    }
    elapsed = dict.fromkeys(("service", "http", "http dup", "copy"), 0.0)
    bodies, dup_bodies = [], []
    shopper_ids: dict[str, int] = {}
    for i in range(args.batches):
        elapsed["service"] += _timed(lambda b=sets["service"][i]: events_ingest_objects(objects=b))
        elapsed["http"] += _timed(lambda b=sets["http"][i]: bodies.append(post(b)))
        elapsed["http dup"] += _timed(lambda b=sets["http"][i]: dup_bodies.append(post(b)))
        # COPY needs resolved ids: the shoppers the other methods created are known by now
        missing = {e["shopper"] for e in sets["copy"][i]} - shopper_ids.keys()
        if missing:
            shopper_ids.update(shopper_ids_ensure(missing)[0])
        elapsed["copy"] += _timed(lambda b=sets["copy"][i]: _copy(b, product_ids, shopper_ids))
    sent = args.batches * args.batch_size
    assert sum(b["accepted"] for b in bodies) == sent, "events were rejected"
    assert sum(b["duplicates"] for b in dup_bodies) == sent
    results = [(label, sent, seconds) for label, seconds in elapsed.items()]

    stored = Event.objects.count()
    copy_rate = sent / elapsed["copy"]
    print(
        f"\nEvent ingestion, batches of {args.batch_size}, {args.batches} batches per method "
        f"({args.preload} events preloaded), database {connection.settings_dict['NAME']}:"
    )
    print(f"{'method':<10} {'events':>8} {'seconds':>8} {'events/s':>10} {'vs COPY':>8}")
    for label, total, seconds in results:
        rate = total / seconds
        print(f"{label:<10} {total:>8} {seconds:>8.2f} {rate:>10.0f} {rate / copy_rate:>7.0%}")
    target = 5000
    http_rate = sent / elapsed["http"]
    print(
        f"target {target} events/s through the endpoint: {'met' if http_rate >= target else 'NOT met'} "
        f"({http_rate:.0f}/s); {stored} events stored in all"
    )
    _empty_catalog()
    ApiClient.objects.filter(name="bench-ingest").delete()


def _copy(batch: list[dict], product_ids: dict[str, int], shopper_ids: dict[str, int]) -> None:
    """Raw COPY of resolved rows, committed per batch (the shoppers already exist)."""
    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            "COPY catalog_event (event_id, shopper_id, product_id, type, query, position, value, review, session,"
            " request_id, timestamp, received_at) FROM STDIN"
        ) as copy,
    ):
        for e in batch:
            copy.write_row(
                (
                    e["event_id"],
                    shopper_ids[e["shopper"]],
                    product_ids.get(e.get("product")),
                    e["type"],
                    e.get("query", ""),
                    e.get("position"),
                    e.get("value"),
                    "",
                    e.get("session", ""),
                    "",
                    e["timestamp"],
                    now,
                )
            )


if __name__ == "__main__":
    main()
