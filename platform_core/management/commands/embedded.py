from django.core.management.base import BaseCommand

from platform_core import embedded


class Command(BaseCommand):
    help = "Start, stop or show the embedded PostgreSQL+pgvector and Redis under $DATA_DIR."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        if action == "start":
            urls = embedded.ensure_services()
            self.stdout.write(f"PostgreSQL: {urls.database_url}\nRedis:      {urls.redis_url}")
        elif action == "stop":
            stopped = embedded.stop_services()
            for name, was in stopped.items():
                self.stdout.write(f"{name}: {'stopped' if was else 'was not running'}")
        else:
            for name, running in embedded.services_running().items():
                self.stdout.write(f"{name}: {'running' if running else 'stopped'}")
