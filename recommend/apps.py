from django.apps import AppConfig


class RecommendConfig(AppConfig):
    """Search and recommendation serving, strategies, rules, A/B experiments."""

    name = "recommend"
    verbose_name = "Recommend"
