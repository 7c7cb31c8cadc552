from django.apps import AppConfig


class CopywritingConfig(AppConfig):
    """Drafted product descriptions, their guardrails and the approval queue."""

    name = "catalog.copywriting"
    label = "copywriting"
    verbose_name = "Product copy"
    default_auto_field = "django.db.models.BigAutoField"
