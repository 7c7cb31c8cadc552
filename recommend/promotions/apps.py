from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    """Personalised promotions: campaigns served through /api/v1/promotions, measured against a
    held-out control."""

    name = "recommend.promotions"
    label = "promotions"
    verbose_name = "Promotions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommend.promotions.privacy import register_privacy_hooks

        register_privacy_hooks()  # shopper_forget / shopper_export cover campaign serves
