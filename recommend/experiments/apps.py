from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    """A/B experiments on serving strategies: experiments, variants, assignments, exposures."""

    name = "recommend.experiments"
    label = "experiments"
    verbose_name = "Experiments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommend.experiments.privacy import register_privacy_hooks

        # shopper_forget / shopper_export cover assignments and exposures (catalog hook lists)
        register_privacy_hooks()

        from recommend.experiments import monitoring

        monitoring.register()  # the SRM alert rule
