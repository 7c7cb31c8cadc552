"""``manage.py demo_store --products 5000 --shoppers 2000 --days 60 --seed 42 [--truth-dir DIR] [--force]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.selectors import catalog_is_empty
from catalog.services.demo import demo_store_build


class Command(BaseCommand):
    help = (
        "Build the demo store from a seed (categories, brands, products, shoppers with hidden tastes, "
        "60 days of events) and write its hidden truth under DATA_DIR/demo. Refuses a non-empty catalog "
        "unless --force, which REPLACES the catalog, shoppers and events (and rows that reference them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=5000)
        parser.add_argument("--shoppers", type=int, default=2000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--truth-dir", type=Path, help="Default: DATA_DIR/demo.")
        parser.add_argument("--force", action="store_true", help="Replace a non-empty catalog.")

    def handle(
        self,
        *args,
        products: int,
        shoppers: int,
        days: int,
        seed: int,
        truth_dir: Path | None,
        force: bool,
        **options,
    ):
        if min(products, shoppers, days) < 1:
            raise CommandError("--products, --shoppers and --days must be at least 1.")
        if not force and not catalog_is_empty():
            raise CommandError(
                "The catalog already has products; pass --force to replace the catalog, its "
                "shoppers and events with the demo store."
            )
        result = demo_store_build(
            products=products,
            shoppers=shoppers,
            days=days,
            seed=seed,
            truth_dir=truth_dir,
            replace=force,
            log=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS(result.summary()))
        folder = next(iter(result.truth_files.values())).parent
        self.stdout.write(
            f"Hidden truth in {folder}: {', '.join(p.name for p in result.truth_files.values())}"
        )
