"""Receivers connected in ``RecommendConfig.ready``: cache invalidation on configuration
writes, profile refreshes on new events."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from recommend.tasks import refresh_profiles

#: Shoppers per refresh task (a file import touches many at once).
PROFILE_REFRESH_BATCH = 500


def config_row_changed(sender, **kwargs) -> None:
    """Bump the config generation now and again once the write commits.

    Now: this connection's next request (inside the same transaction: a test, a shell session)
    must see the change. On commit: another process may have rebuilt its cache from the
    pre-commit rows in between.
    """
    from recommend.services import config_changed

    config_changed()
    transaction.on_commit(config_changed)


def queue_profile_refresh(sender, *, shopper_external_ids, **kwargs) -> None:
    """Queue the recomputation of these shoppers' profiles once the events commit (a worker
    picks it up within a second or two; the next request reads the new profile). A broker
    outage is logged, never fails the ingestion that already committed."""
    ids = list(shopper_external_ids)
    for start in range(0, len(ids), PROFILE_REFRESH_BATCH):
        batch = ids[start : start + PROFILE_REFRESH_BATCH]
        transaction.on_commit(partial(refresh_profiles.delay, external_ids=batch), robust=True)
