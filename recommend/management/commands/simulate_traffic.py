"""``manage.py simulate_traffic --shoppers N --days D --seed S``: demo shoppers through the real API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommend.experiments.simulation import SimulationError, traffic_simulate


def _plant(values: list[str]) -> dict[str, float]:
    planted = {}
    for item in values:
        key, _, factor = item.partition("=")
        try:
            planted[key.strip()] = float(factor)
        except ValueError:
            raise CommandError(
                f"--plant takes VARIANT=FACTOR (e.g. treatment=1.2), not {item!r}."
            ) from None
    return planted


class Command(BaseCommand):
    help = (
        "Drive the demo store's shoppers through the real API for D simulated days: they search, get "
        "recommendations and similar items, and click / add to cart / buy with probabilities from the demo "
        "store's hidden truth (tastes × graded relevance of what they were shown, with position bias). One "
        "simulated clock stamps requests (X-Aisle-Simulated-Time), exposures and events, so a running "
        "experiment collects days of traffic in minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shoppers", type=int, default=500, help="Demo shoppers to simulate (default 500)."
        )
        parser.add_argument("--days", type=int, default=3, help="Simulated days (default 3).")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--start",
            help="ISO 8601 start of the simulated clock (default: the midnight after "
            "the latest event, search or exposure).",
        )
        parser.add_argument(
            "--url",
            help="Base URL of a running server (e.g. http://127.0.0.1:8000); default: "
            "the API in this process through Django's test client.",
        )
        parser.add_argument(
            "--api-key",
            help="A key with the read, events and simulate scopes (default: the "
            "'traffic-simulator' client's key, rotated).",
        )
        parser.add_argument(
            "--truth-dir", type=Path, help="The demo store's truth folder (default DATA_DIR/demo)."
        )
        parser.add_argument(
            "--sessions-per-day", type=float, default=1.0, help="Mean sessions per shopper per day."
        )
        parser.add_argument(
            "--search-share",
            type=float,
            default=0.7,
            help="Share of sessions that search (the rest open recommendations).",
        )
        parser.add_argument(
            "--request-id-share",
            type=float,
            default=1.0,
            help="Share of events that carry the request id (the rest rely on the time window).",
        )
        parser.add_argument(
            "--plant",
            action="append",
            default=[],
            metavar="VARIANT=FACTOR",
            help="Teaching and testing aid: shoppers served VARIANT click FACTOR times as often.",
        )
        parser.add_argument(
            "--promotion-slot",
            default="",
            help="A storefront slot: each session first asks /promotions for it and the shopper "
            "reacts to a promotion shown like to a one-item recommendation (default: never).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Concurrent sessions (default 1 in process, 8 over HTTP).",
        )

    def handle(self, *args, **o):
        if o["shoppers"] < 1 or o["days"] < 1:
            raise CommandError("--shoppers and --days must be at least 1.")
        start = None
        if o["start"]:
            try:
                start = datetime.fromisoformat(o["start"])
            except ValueError:
                raise CommandError(
                    f"--start must be an ISO 8601 time, not {o['start']!r}."
                ) from None
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
        workers = o["workers"] or (8 if o["url"] else 1)
        try:
            report = traffic_simulate(
                shoppers=o["shoppers"],
                days=o["days"],
                seed=o["seed"],
                start=start,
                url=o["url"],
                api_key=o["api_key"],
                truth_dir=o["truth_dir"],
                sessions_per_day=o["sessions_per_day"],
                search_share=o["search_share"],
                request_id_share=o["request_id_share"],
                plant=_plant(o["plant"]),
                promotion_slot=o["promotion_slot"],
                workers=workers,
                log=self.stdout.write,
            )
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
        for error in report.errors[:10]:
            self.stdout.write(self.style.WARNING(f"  {error}"))
