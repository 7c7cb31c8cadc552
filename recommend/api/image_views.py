"""``POST /api/v1/search/image`` and ``GET /api/v1/products/{id}/visually-similar``.

The query picture comes as a multipart upload (field ``image``; this endpoint alone parses
multipart) or as JSON ``{"image_base64": "..."}``. It is decoded by Pillow before anything else
reads it: over the byte or pixel limit is a 413, anything Pillow cannot decode as PNG, JPEG,
WEBP or GIF a 415 — both JSON in the house error format. Filters, page and size travel in the
query string, as for text search."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers as drf
from rest_framework.parsers import MultiPartParser

from catalog.images.logic.checks import ImageRejected, decode
from platform_core.api.exceptions import ApiError
from platform_core.api.parsers import JSONParser, declared_length
from recommend.api import serializers
from recommend.api.views import _ERRORS, ServingView, _clean_text, _unknown_category
from recommend.serving import image_search
from recommend.serving.filters import ProductFilters, UnknownCategory
from recommend.serving.recs import UnknownProduct

# a multipart body carries the picture plus a little framing
MULTIPART_SLACK = 64 * 1024


def _too_large(message: str) -> ApiError:
    return ApiError(message, code="image_too_large", status_code=413)


class BoundedMultiPartParser(MultiPartParser):
    """Multipart for this endpoint only: a declared body over the picture limit is a 413
    before a byte is read."""

    def parse(self, stream, media_type=None, parser_context=None):
        declared = declared_length((parser_context or {}).get("request"))
        limit = settings.IMAGE_MAX_BYTES + MULTIPART_SLACK
        if declared is not None and declared > limit:
            raise _too_large(
                f"The upload is {declared:,} bytes; a picture may have at most "
                f"{settings.IMAGE_MAX_BYTES:,}."
            )
        return super().parse(stream, media_type, parser_context)


class ImageSearchQuery(serializers.RecsFilterQuery):
    page = drf.IntegerField(
        required=False, default=1, min_value=1, max_value=10, help_text="Page, 1–10."
    )


class ImageSearchBody(drf.Serializer):
    image = drf.FileField(
        required=False, help_text="multipart/form-data: the picture (PNG, JPEG, WEBP or GIF)."
    )
    image_base64 = drf.CharField(
        required=False, help_text="application/json: the picture's bytes in base64."
    )


class ImageModelOut(drf.Serializer):
    version = drf.IntegerField()
    name = drf.CharField()


class ImageSearchOut(serializers.ServedOut):
    total = drf.IntegerField(help_text="Candidates found by the image index within the filters.")
    results = serializers.ResultItem(many=True)
    facets = serializers.FacetsOut()
    image_model = ImageModelOut(
        allow_null=True,
        help_text="The image encoder version that served; null (and no results) while none is active.",
    )


_IMAGE_ERRORS = {
    **_ERRORS,
    413: OpenApiResponse(serializers.ErrorOut, description="Picture over the byte or pixel limit."),
    415: OpenApiResponse(serializers.ErrorOut, description="Not a PNG, JPEG, WEBP or GIF picture."),
}
_EXAMPLE_OUT = OpenApiExample(
    "two look-alikes",
    response_only=True,
    value={
        "total": 2,
        "results": [
            {
                "product": {
                    "id": "p00042",
                    "title": "Voltic Nova 2 earbuds — navy, bluetooth",
                    "price": 25.99,
                    "currency": "EUR",
                    "category": {"id": "headphones", "name": "Headphones"},
                    "brand": "Voltic",
                    "image_url": "",
                    "in_stock": True,
                },
                "score": 0.91,
                "explanation": {
                    "retrievers": {
                        "lexical": None,
                        "semantic": None,
                        "image": {"rank": 1, "score": 0.91},
                    },
                    "matched_terms": [],
                    "personalisation": None,
                    "rules": [],
                    "ranker": None,
                },
            }
        ],
        "facets": {
            "category": [{"id": "headphones", "name": "Headphones", "count": 2}],
            "brand": [],
            "price": [],
        },
        "image_model": {"version": 12, "name": "image tower 5000 pictures"},
        "request_id": "5f0c…",
        "variant": None,
        "served_at": "2026-12-06T12:00:00Z",
    },
)


class ImageSearchView(ServingView):
    """Products that look like the picture sent."""

    surface = "search"
    endpoint = "search_image"
    query_serializer = ImageSearchQuery
    parser_classes = [BoundedMultiPartParser, JSONParser]

    def _picture(self, request):
        data = request.data
        upload = data.get("image") if hasattr(data, "get") else None
        if upload is not None and hasattr(data, "get") and data.get("image_base64") is not None:
            raise ApiError(
                "Send the picture once: multipart field 'image' or JSON 'image_base64', not both.",
                code="invalid",
                details={"image_base64": ["Not with 'image'."]},
            )
        if upload is not None and not hasattr(upload, "read"):
            raise ApiError(
                "'image' must be a file (multipart/form-data).",
                code="invalid",
                details={"image": ["Not a file."]},
            )
        if upload is not None:
            if upload.size > settings.IMAGE_MAX_BYTES:
                raise _too_large(
                    f"The picture is {upload.size:,} bytes; at most {settings.IMAGE_MAX_BYTES:,}."
                )
            raw = upload.read()
        else:
            encoded = data.get("image_base64") if hasattr(data, "get") else None
            if not isinstance(encoded, str) or not encoded:
                raise ApiError(
                    "Send the picture as multipart field 'image' or JSON 'image_base64'.",
                    code="invalid",
                    details={"image": ["This field is required."]},
                )
            if len(encoded) > settings.IMAGE_MAX_BYTES * 4 // 3 + 4:
                raise _too_large(f"The picture is over {settings.IMAGE_MAX_BYTES:,} bytes.")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(
                    "image_base64 is not valid base64.",
                    code="invalid",
                    details={"image_base64": ["Not valid base64."]},
                ) from None
        try:
            return decode(
                raw, max_bytes=settings.IMAGE_MAX_BYTES, max_pixels=settings.IMAGE_MAX_PIXELS
            )
        except ImageRejected as exc:
            if exc.too_large:
                raise _too_large(str(exc)) from None
            raise ApiError(str(exc), code="unsupported_media_type", status_code=415) from None

    @extend_schema(
        parameters=[ImageSearchQuery],
        request={
            "multipart/form-data": ImageSearchBody,
            "application/json": ImageSearchBody,
        },
        responses={200: ImageSearchOut, **_IMAGE_ERRORS},
        examples=[
            OpenApiExample(
                "a picture in base64",
                request_only=True,
                media_type="application/json",
                value={"image_base64": "iVBORw0KGgoAAAANSUhEUgAA…"},
            ),
            _EXAMPLE_OUT,
        ],
        summary="Search products by image",
        description="Products whose pictures look most like the one sent (the active image "
        "encoder's vectors), with the usual filters, facets and explanations.",
        tags=["serving"],
    )
    def post(self, request):
        params = self.params(request)
        picture = self._picture(request)
        ctx = self.context(request, params)
        try:
            body = image_search.search_by_image(
                picture,
                ctx,
                ProductFilters.from_params(params),
                page=params["page"],
                size=params["size"],
            )
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        return self.respond(ctx, body, experiment_surface=False)


class VisuallySimilarView(ServingView):
    """Products whose pictures look like this product's."""

    surface = "similar"
    endpoint = "visually_similar"
    query_serializer = serializers.RecsFilterQuery

    @extend_schema(
        parameters=[serializers.RecsFilterQuery],
        responses={
            200: ImageSearchOut,
            404: OpenApiResponse(serializers.ErrorOut, description="Unknown product."),
            **_IMAGE_ERRORS,
        },
        examples=[_EXAMPLE_OUT],
        summary="Visually similar products",
        tags=["serving"],
    )
    def get(self, request, product_id: str):
        params = self.params(request)
        ctx = self.context(request, params)
        try:
            body = image_search.visually_similar(
                _clean_text(product_id),
                ctx,
                ProductFilters.from_params(params),
                size=params["size"],
            )
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        except UnknownProduct:
            raise ApiError(
                f"Unknown product {product_id[:128]!r}.", code="not_found", status_code=404
            ) from None
        return self.respond(ctx, body, experiment_surface=False)
