"""Admin pages of the category tree and the brands (hand edits go through
:mod:`catalog.services.edits`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from catalog.formats.records import as_category_id
from catalog.formats.values import Invalid
from catalog.models import Brand, Category
from catalog.services.edits import brand_save, category_save


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("external_id", "name", "parent")

    def clean_external_id(self):
        try:
            return as_category_id(self.cleaned_data["external_id"])
        except Invalid as exc:
            raise forms.ValidationError(f"The external id {exc}.") from None

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent and self.instance.pk and self.instance.external_id in parent.path.split("/"):
            raise forms.ValidationError(
                "A category cannot be placed under itself or its own subtree."
            )
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("tree_name", "external_id", "path", "depth", "product_count")
    search_fields = ("name", "external_id")
    readonly_fields = ("path", "depth")
    autocomplete_fields = ("parent",)
    ordering = ("path",)
    list_per_page = 200

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="Category", ordering="path")
    def tree_name(self, obj: Category) -> str:
        return format_html("{}{}", "— " * obj.depth, obj.name)

    @admin.display(description="Products", ordering="product_count")
    def product_count(self, obj: Category) -> int:
        return obj.product_count

    def save_model(self, request, obj, form, change):
        category_save(category=obj, changed_fields=form.changed_data, actor=request.user)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "product_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="Products", ordering="product_count")
    def product_count(self, obj: Brand) -> int:
        return obj.product_count

    def save_model(self, request, obj, form, change):
        brand_save(brand=obj, changed_fields=form.changed_data, actor=request.user)
