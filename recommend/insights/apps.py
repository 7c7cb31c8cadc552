from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Shopper profiles and segments, review sentiment, churn risk and demand forecast."""

    name = "recommend.insights"
    label = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommend.insights import monitoring
        from recommend.insights.privacy import register_privacy_hooks

        monitoring.register()  # "negative review spike" alert rule
        register_privacy_hooks()
