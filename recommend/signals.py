"""Cache invalidation on configuration writes (connected in ``RecommendConfig.ready``)."""

from __future__ import annotations

from django.db import transaction


def config_row_changed(sender, **kwargs) -> None:
    """Bump the config generation now and again once the write commits.

    Now: this connection's next request (inside the same transaction: a test, a shell session)
    must see the change. On commit: another process may have rebuilt its cache from the
    pre-commit rows in between.
    """
    from recommend.services import config_changed

    config_changed()
    transaction.on_commit(config_changed)
