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
from datetime import timedelta
from typing import TYPE_CHECKING, Any

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


# --------------------------------------------------------------------------- demo store parts

#: ``writer(store, shift) -> {name: rows written}``: writes a planting's part that lives in
#: another app's tables (e.g. the knowledge base), inside the demo load's transaction, after
#: the catalogue; ``shift`` is the load-time shift of every timestamp.
DemoPartWriter = Callable[[Any, timedelta], dict[str, int]]
DEMO_PART_WRITERS: list[DemoPartWriter] = []


def register_demo_part_writer(writer: DemoPartWriter) -> None:
    """Add a demo-part writer once (``ready()`` may run more than once in tests)."""
    if writer not in DEMO_PART_WRITERS:
        DEMO_PART_WRITERS.append(writer)


def demo_parts_write(store: Any, shift: timedelta) -> dict[str, int]:
    """Run every registered writer; their counts, merged."""
    counts: dict[str, int] = {}
    for writer in DEMO_PART_WRITERS:
        counts.update(writer(store, shift))
    return counts


# --------------------------------------------------------------------------- search text

#: ``refresh() -> (what, rows changed)``: rebuilds the segmented search text of another app's
#: rows (e.g. the knowledge base's passages) when ``manage.py reindex_search_text`` runs after
#: a change of ``CATALOG_LANGUAGE``.
SearchTextRefresher = Callable[[], tuple[str, int]]
SEARCH_TEXT_REFRESHERS: list[SearchTextRefresher] = []


def register_search_text_refresher(refresher: SearchTextRefresher) -> None:
    """Add a refresher once (``ready()`` may run more than once in tests)."""
    if refresher not in SEARCH_TEXT_REFRESHERS:
        SEARCH_TEXT_REFRESHERS.append(refresher)
