"""Write the Prometheus alert rules file from the registered rules' thresholds."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from platform_core.alert_rules_file import prometheus_rules

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "ops" / "aisle-alerts.yml"


class Command(BaseCommand):
    help = (
        "Generate the Prometheus alert rules (docs/ops/aisle-alerts.yml) from the alert rules "
        "registered by the apps: their default thresholds, or with --from-database the ones "
        "set in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(DEFAULT_PATH), help="'-' for stdout")
        parser.add_argument(
            "--from-database",
            action="store_true",
            help="Use the thresholds of the AlertRule rows (as edited in the admin).",
        )

    def handle(self, *args, output, from_database, **options):
        thresholds = None
        if from_database:
            from platform_core.alerts import rules_sync

            thresholds = {name: row.threshold for name, row in rules_sync().items()}
        text = prometheus_rules(thresholds)
        if output == "-":
            self.stdout.write(text, ending="")
            return
        Path(output).write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {output}.")
