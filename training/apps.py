from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Model registry, product embeddings, jobs (embed, fine-tune, evaluate) and their tasks."""

    name = "training"
    verbose_name = "Training"
