from django.apps import AppConfig


class RecommendConfig(AppConfig):
    """Search and recommendation serving, strategies, rules (A/B experiments: the experiments app)."""

    name = "recommend"
    verbose_name = "Recommend"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from recommend import models
        from recommend.signals import config_row_changed

        # Serving caches strategies and rules per "config generation". Services and the admin
        # bump it explicitly; these receivers also catch writes from the shell, data migrations
        # and fixtures, so a cached configuration can never outlive its rows.
        for model in (models.Strategy, models.SynonymSet, models.PinnedResult, models.BoostRule):
            post_save.connect(
                config_row_changed,
                sender=model,
                dispatch_uid=f"recommend-config-save-{model.__name__}",
            )
            post_delete.connect(
                config_row_changed,
                sender=model,
                dispatch_uid=f"recommend-config-del-{model.__name__}",
            )
        m2m_changed.connect(
            config_row_changed,
            sender=models.Strategy.boost_rules.through,
            dispatch_uid="recommend-config-m2m",
        )

        from catalog.signals import events_stored
        from platform_core import health
        from recommend import aggregates
        from recommend.signals import queue_profile_refresh

        events_stored.connect(queue_profile_refresh, dispatch_uid="recommend-profiles")
        health.register_check("aggregates", aggregates.readiness, blocking=True)
        from recommend.serving import warmup

        # a web worker loads its models after it forks (gunicorn post_worker_init)
        health.register_check("models", warmup.readiness, blocking=True)

        from recommend import (
            buffers,  # noqa: F401  (register the buffers)
            monitoring,
        )

        monitoring.register()  # zero-result rate and p95 latency alert rules
