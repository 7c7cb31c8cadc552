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
        from recommend.insights.selectors.profiles import segment_names_of
        from recommend.insights.services.churn import register_segment_source

        monitoring.register()  # "negative review spike" alert rule
        register_privacy_hooks()
        register_segment_source(segment_names_of)  # win-back lists group by profile segment
