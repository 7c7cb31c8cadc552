from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """The served-request log, attribution and the hourly/daily rollups dashboards read."""

    name = "recommend.analytics"
    label = "analytics"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommend.analytics import buffers  # noqa: F401  (register the buffer)
        from recommend.analytics.privacy import register_privacy_hooks

        register_privacy_hooks()
