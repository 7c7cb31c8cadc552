"""First-run data for ``make run`` (called by ``manage.py platform_bootstrap``)."""

from __future__ import annotations

from django.conf import settings

from catalog import selectors
from catalog.services import demo


def run(*, stdout, style) -> None:
    """Build the demo store at its default size when the catalog is empty and DEMO_STORE is on."""
    if not settings.DEMO_STORE or not selectors.catalog_is_empty():
        return
    stdout.write("The catalog is empty: building the demo store (DEMO_STORE=true)…")
    result = demo.demo_store_build(log=lambda line: stdout.write(f"  {line}"))
    stdout.write(style.SUCCESS(result.summary()))
    folder = next(iter(result.truth_files.values())).parent
    stdout.write(f"  Hidden truth (for benchmarks and labs) in {folder}")
