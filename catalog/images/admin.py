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
from platform_core.admin_site import pages
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
        return format_html('<img src="{}" class="aisle-image-preview" alt="">', obj.file.url)


# --- Catalog → Search by image: operators try the active image encoder --------------------


def search_by_image_page(request):
    """Upload a picture (and optionally a category): the products the storefront's
    ``/api/v1/search/image`` would answer, with their pictures and cosine scores. Nothing is
    logged: the page serves read-only."""
    import base64
    from datetime import UTC, datetime

    from django.core.exceptions import PermissionDenied
    from django.shortcuts import render

    from catalog.images.logic.checks import decode
    from catalog.images.logic.pixels import image_array
    from recommend.serving import image_search
    from recommend.serving.context import serving_context
    from recommend.serving.filters import ProductFilters, UnknownCategory

    if not request.user.has_perm("images.view_productimage"):
        raise PermissionDenied
    context: dict = {"title": "Search by image", "category": request.POST.get("category", "")}
    try:
        context["version"] = image_search.active_image_version()
    except image_search.NoImageEncoder as exc:
        context["error"] = f"{exc}."
    upload = request.FILES.get("image")
    if request.method == "POST" and upload is not None and "version" in context:
        from django.conf import settings

        try:
            picture = decode(
                upload.read(),
                max_bytes=settings.IMAGE_MAX_BYTES,
                max_pixels=settings.IMAGE_MAX_PIXELS,
            )
            ctx = serving_context(
                "search",
                shopper_external_id=None,
                session="",
                now=datetime.now(UTC),
                simulated=False,
                read_only=True,
            )
            body = image_search.search_by_image(
                picture,
                ctx,
                ProductFilters(category=context["category"] or None),
                size=12,
            )
        except ImageRejected as exc:
            context["error"] = str(exc)
        except UnknownCategory:
            context["error"] = f"Unknown category {context['category']!r}."
        else:
            from PIL import Image

            from catalog.demo.images import png_bytes

            shown = Image.fromarray(image_array(picture, 128))
            context["query_png"] = base64.b64encode(png_bytes(shown)).decode()
            ids = [r["product"]["id"] for r in body["results"]]
            urls = dict(
                ProductImage.objects.filter(product__external_id__in=ids, position=0).values_list(
                    "product__external_id", "file"
                )
            )
            from django.core.files.storage import default_storage

            context["results"] = [
                {
                    **r,
                    "picture": default_storage.url(urls[r["product"]["id"]])
                    if r["product"]["id"] in urls
                    else "",
                }
                for r in body["results"]
            ]
            context["total"] = body["total"]
            context["timings"] = {k: round(v, 1) for k, v in ctx.timings.items()}
    return render(
        request,
        "admin/images/search_by_image.html",
        {**admin.site.each_context(request), **context},
    )


pages.register(
    pages.AdminPage(
        prefix="catalog",
        slug="search-by-image",
        name="images_search_by_image",
        title="Search by image",
        group="catalog",
        permission="images.view_productimage",
        view=search_by_image_page,
    )
)
