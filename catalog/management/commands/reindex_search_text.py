"""``manage.py reindex_search_text``: rebuild every product's and passage's ``search_text``."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog import import_hooks
from catalog.services.edits import products_refresh_search_text


class Command(BaseCommand):
    help = (
        "Rebuild every product's search_text (and other apps' segmented text: knowledge-base passages) (brand, category path, attribute values and the "
        "segmented words of text in scripts written without spaces) after a change of "
        "CATALOG_LANGUAGE. The full-text column follows; embeddings are not touched."
    )

    def handle(self, *args, **options):
        changed = products_refresh_search_text(reembed=False)
        others = [refresh() for refresh in import_hooks.SEARCH_TEXT_REFRESHERS]
        self.stdout.write(
            self.style.SUCCESS(
                f"search_text rebuilt for CATALOG_LANGUAGE={settings.CATALOG_LANGUAGE}: "
                f"{changed} product(s) changed"
                + "".join(f", {n} {what}" for what, n in others)
                + "."
            )
        )
