from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Products, categories, brands, shoppers, events, search log; import/export."""

    name = "catalog"
    verbose_name = "Catalog"
