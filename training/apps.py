from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Model registry, product embeddings, jobs (embed, fine-tune, evaluate) and their tasks."""

    name = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        # The built-in job kinds (no torch: runners are imported by the worker that runs them).
        from catalog import import_hooks, privacy
        from training import (
            kinds,  # noqa: F401
            kinds_copy,  # noqa: F401
            kinds_data_value,  # noqa: F401
            kinds_efficiency,  # noqa: F401
            kinds_images,  # noqa: F401
            kinds_insights,  # noqa: F401
            kinds_insights_churn_forecast,  # noqa: F401
            kinds_knowledge,  # noqa: F401
            kinds_profiles,  # noqa: F401
            kinds_simulation,  # noqa: F401
            kinds_support,  # noqa: F401
            kinds_tuning,  # noqa: F401
            monitoring,
        )
        from training.after_import import queue_quality_report
        from training.snapshots import forget_frozen_rows

        import_hooks.register_after_import(queue_quality_report)
        privacy.register_forget_hook(forget_frozen_rows)  # rows leave stored snapshots
        monitoring.register()  # jobs gauge, "a job failed" alert rule
