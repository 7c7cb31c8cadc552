"""Privacy endpoints for a shop's back office (API scope ``privacy``): export everything held
about a shopper, or forget them — the same services as ``manage.py shopper_export`` /
``shopper_forget`` and the admin actions, audited under the API client's name."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.serializers import ErrorBodySerializer
from catalog.models import Shopper
from catalog.services.privacy import shopper_export, shopper_forget
from platform_core.api.exceptions import ApiError
from platform_core.api.permissions import HasScope, api_client

FORGET_MODES = ("delete", "anonymise")

EXTERNAL_ID = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The storefront's id of the shopper (as sent in events).",
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorBodySerializer, description=description)


COMMON_ERRORS = {
    401: _error("No API key, or an unknown or revoked one."),
    403: _error("The key lacks the `privacy` scope."),
    404: _error("No shopper with this external id (also after they were forgotten)."),
    429: _error(
        "Throttled: `details.retry_after_seconds` and the `Retry-After` header say when to retry."
    ),
}


class ShopperExportSerializer(serializers.Serializer):
    """What ``shopper_export`` returns; apps add sections of their own (e.g. ``experiments``)."""

    exported_at = serializers.DateTimeField()
    shopper = serializers.DictField(
        help_text="Profile: external_id, segment, country, attributes, interests, ..."
    )
    events = serializers.ListField(
        child=serializers.DictField(), help_text="Every event, oldest first."
    )
    searches = serializers.ListField(
        child=serializers.DictField(), help_text="Every logged search, oldest first."
    )


class ShopperForgetSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=FORGET_MODES,
        required=False,
        help_text="`delete` the shopper's events too, or `anonymise` them (kept under a new anonymous "
        "shopper, free text and sessions cleared). Default: the `SHOPPER_FORGET_MODE` setting.",
    )


class ShopperForgetResultSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    mode = serializers.ChoiceField(choices=FORGET_MODES)
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows deleted or anonymised, per kind."
    )


def _not_found(external_id: str) -> ApiError:
    return ApiError(
        f"No shopper with external id {external_id!r}.", code="not_found", status_code=404
    )


class ShopperExportView(APIView):
    """Everything held about one shopper, as JSON (GDPR access / portability)."""

    permission_classes = [HasScope]
    required_scope = "privacy"

    @extend_schema(
        operation_id="shopper_export",
        summary="Export everything held about a shopper",
        description="Profile, events, searches and every other app's section, as `manage.py shopper_export` "
        "writes it. Audited (under a hash of the id and the API client's name).",
        parameters=[EXTERNAL_ID],
        responses={200: ShopperExportSerializer, **COMMON_ERRORS},
    )
    def get(self, request, external_id: str):
        try:
            data = shopper_export(external_id=external_id, actor=api_client(request))
        except Shopper.DoesNotExist:
            raise _not_found(external_id) from None
        return Response(data)


class ShopperForgetView(APIView):
    """Forget one shopper (GDPR erasure): their personal data go; their events are deleted or
    anonymised."""

    permission_classes = [HasScope]
    required_scope = "privacy"

    @extend_schema(
        operation_id="shopper_forget",
        summary="Forget a shopper",
        description="Deletes the shopper's profile and personal rows in one transaction; their events and "
        "searches are deleted (`delete`) or kept under a new anonymous shopper (`anonymise`). The body is "
        "optional. Audited under a hash of the id. A second call answers 404.",
        parameters=[EXTERNAL_ID],
        request=ShopperForgetSerializer,
        responses={
            200: ShopperForgetResultSerializer,
            400: _error("`mode` is not `delete` or `anonymise`, or the body is not a JSON object."),
            **COMMON_ERRORS,
        },
    )
    def post(self, request, external_id: str):
        # no body at all reads as {}; a body that is not a JSON object (null, a list) is a 400
        form = ShopperForgetSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        mode = form.validated_data.get("mode") or settings.SHOPPER_FORGET_MODE
        try:
            counts = shopper_forget(external_id=external_id, mode=mode, actor=api_client(request))
        except Shopper.DoesNotExist:
            raise _not_found(external_id) from None
        return Response({"external_id": external_id, "mode": mode, "counts": counts})
