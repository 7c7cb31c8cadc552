"""Extension point: work other apps queue after a file import finished (e.g. the data quality
report, a job of the training app). An app registers in its ``AppConfig.ready()``::

    from catalog import import_hooks

    def queue_quality_report(report: ImportReport) -> None: ...

    import_hooks.register_after_import(queue_quality_report)

Hooks run once the import's transaction committed (never inline in the import), and only for
an import that wrote something. A hook that fails is logged; the import stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from catalog.services.report import ImportReport

logger = logging.getLogger(__name__)

AfterImport = Callable[["ImportReport"], None]
AFTER_IMPORT: list[AfterImport] = []


def register_after_import(hook: AfterImport) -> None:
    """Add a hook once (``ready()`` may run more than once in tests)."""
    if hook not in AFTER_IMPORT:
        AFTER_IMPORT.append(hook)


def import_finished(report: ImportReport) -> None:
    """Queue every hook for after the commit when the import wrote rows."""
    if not report.ok or not (report.created or report.updated or report.deactivated):
        return
    for hook in AFTER_IMPORT:
        transaction.on_commit(lambda hook=hook: _call(hook, report))


def _call(hook: AfterImport, report: ImportReport) -> None:
    try:
        hook(report)
    except Exception:
        logger.exception("after-import hook %r failed", hook)
