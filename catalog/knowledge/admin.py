"""Admin of the knowledge base (Catalog group): articles and product Q&A are edited here (a
save cuts the row into passages again); passages are read-only, to see what search ranks."""

from __future__ import annotations

from django.contrib import admin

from catalog.knowledge.models import (
    AnswerSummary,
    Article,
    Passage,
    ProductQuestion,
    SupportLabel,
)
from catalog.knowledge.services import passages_rebuild, support_label_save


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "external_id", "kind", "category", "active", "updated")
    list_filter = ("kind", "category", "active")
    search_fields = ("title", "external_id", "body", "source")
    readonly_fields = ("created_at", "modified_at")
    date_hierarchy = "updated"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        passages_rebuild(article_ids=[obj.pk])


@admin.register(ProductQuestion)
class ProductQuestionAdmin(admin.ModelAdmin):
    list_display = ("question", "product", "external_id", "active", "updated")
    list_filter = ("active",)
    search_fields = ("question", "answer", "external_id", "product__external_id", "product__title")
    list_select_related = ("product",)
    raw_id_fields = ("product",)
    readonly_fields = ("created_at", "modified_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        passages_rebuild(question_ids=[obj.pk])


@admin.register(Passage)
class PassageAdmin(admin.ModelAdmin):
    list_display = ("heading", "position", "category", "article", "product_question")
    list_filter = ("category",)
    search_fields = ("heading", "text")
    list_select_related = ("article", "product_question")
    readonly_fields = [f.name for f in Passage._meta.fields if f.name != "search_vector"]
    exclude = ("search_vector",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # passages follow their source: edit or deactivate the article instead


@admin.register(SupportLabel)
class SupportLabelAdmin(admin.ModelAdmin):
    """Operators' support categories for support questions: the support-category classifier
    (job ``train_support_category``) learns from them next to the articles' categories."""

    list_display = ("query", "category", "user", "updated_at")
    list_filter = ("category",)
    search_fields = ("query",)
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        support_label_save(label=obj, user=request.user)


@admin.register(AnswerSummary)
class AnswerSummaryAdmin(admin.ModelAdmin):
    """Summaries written ahead by ``precompute_answer_summaries`` (read-only: rerun the job)."""

    list_display = ("query", "searches", "retriever", "generator", "created_at")
    list_filter = ("retriever", "generator")
    search_fields = ("query", "text")
    list_select_related = ("retriever",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
