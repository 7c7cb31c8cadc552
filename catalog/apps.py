from django.apps import AppConfig
from django.core import checks


def check_catalog_language(app_configs, **kwargs):
    """``CATALOG_LANGUAGE`` must be one lexical search knows (catalog/segmentation.py)."""
    from django.conf import settings

    from catalog.segmentation import LANGUAGES

    value = getattr(settings, "CATALOG_LANGUAGE", "auto")
    if value in LANGUAGES:
        return []
    return [
        checks.Error(
            f"CATALOG_LANGUAGE={value!r} is not a catalogue language lexical search knows.",
            hint=f"Use one of: {', '.join(LANGUAGES)} (docs/serving.md, Languages).",
            id="catalog.E001",
        )
    ]


class CatalogConfig(AppConfig):
    """Products, categories, brands, shoppers, events, search log; import/export."""

    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        checks.register(check_catalog_language)
