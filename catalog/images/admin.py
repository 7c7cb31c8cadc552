"""Catalog → Product images: every stored picture with its product, size and source; "Add"
uploads a picture for a product (decoded, held to the limits, EXIF stripped by
:func:`catalog.images.services.product_image_store`, audited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from catalog.images import services
from catalog.images.logic.checks import ImageRejected
from catalog.images.models import ProductImage
from catalog.models import Product
from platform_core.services import audit_record


class ProductImageUploadForm(forms.ModelForm):
    """Upload form: the product, the position and the file, checked by the service."""

    upload = forms.FileField(
        help_text="PNG, JPEG, WEBP or GIF; EXIF and other metadata are removed."
    )

    class Meta:
        model = ProductImage
        fields = ["product", "position"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is not None:
            try:
                cleaned["checked"] = services.image_check(upload.read())
            except ImageRejected as exc:
                self.add_error("upload", str(exc))
        return cleaned


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "product",
        "position",
        "format",
        "width",
        "height",
        "source",
        "created_at",
    )
    list_filter = ("source", "format", "position")
    search_fields = ("product__external_id", "product__title", "sha256")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    readonly_fields = (
        "preview",
        "sha256",
        "width",
        "height",
        "format",
        "bytes",
        "source",
        "created_at",
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ProductImageUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["product", "position", "upload"]
        return ["preview", "product", "position", *self.readonly_fields[1:]]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else (*self.readonly_fields, "product")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        product: Product = form.cleaned_data["product"]
        stored = services._store_checked(
            product=product,
            checked=form.cleaned_data["checked"],
            source=ProductImage.Source.UPLOAD,
            position=form.cleaned_data.get("position") or 0,
        )
        obj.pk = stored.pk
        audit_record(
            actor=request.user,
            action="product_image.upload",
            obj=stored,
            details={
                "product": product.external_id,
                "sha256": stored.sha256,
                "bytes": stored.bytes,
            },
        )

    @admin.display(description="picture")
    def thumbnail(self, obj: ProductImage):
        return format_html('<img src="{}" width="48" height="48" alt="">', obj.file.url)

    @admin.display(description="picture")
    def preview(self, obj: ProductImage):
        return format_html('<img src="{}" style="max-width:256px" alt="">', obj.file.url)
