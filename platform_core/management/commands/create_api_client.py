from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from platform_core import services


class Command(BaseCommand):
    help = "Create a storefront API client; prints its key (shown once) alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scopes",
            default="read,events",
            help="Comma-separated: read, events, write-catalog, simulate (default read,events).",
        )
        parser.add_argument(
            "--public", action="store_true", help="A key browsers may hold (read/events only)."
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="Allowed CORS origin (public keys); repeatable.",
        )

    def handle(self, *args, name, scopes, public, origin, **options):
        try:
            client, key = services.api_client_create(
                name=name, scopes=scopes, public=public, allowed_origins=origin
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            f"Created API client {client.name!r} with scopes {', '.join(client.scopes)}. "
            "Store the key now; it is not shown again:"
        )
        self.stdout.write(key)
