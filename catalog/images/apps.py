from django.apps import AppConfig


class ImagesConfig(AppConfig):
    """Product pictures, their vectors under the image encoder, and search by image."""

    name = "catalog.images"
    label = "images"
    verbose_name = "Product images"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import import_hooks
        from catalog.images.services import images_demo_write

        import_hooks.register_demo_part_writer(images_demo_write)
