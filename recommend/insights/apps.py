from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Shopper profiles and segments, review sentiment, churn risk and demand forecast."""

    name = "recommend.insights"
    label = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommend.insights import privacy

        privacy.register_privacy_hooks()  # a forgotten shopper leaves the insight tables
