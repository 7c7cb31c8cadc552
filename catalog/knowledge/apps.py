from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Support knowledge: articles, FAQs, policies and product Q&A, searched for answers."""

    name = "catalog.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import import_hooks
        from catalog.knowledge.services import knowledge_demo_write, passages_refresh_search_text

        import_hooks.register_demo_part_writer(knowledge_demo_write)
        import_hooks.register_search_text_refresher(passages_refresh_search_text)
