"""Storefront catalog endpoints: bulk product upsert and event ingestion."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import serializers
from catalog.services.events import events_ingest_objects
from catalog.services.imports import products_import_objects
from platform_core.api.exceptions import ApiError
from platform_core.api.permissions import HasScope


def _batch(items, *, name: str) -> list:
    if not isinstance(items, list):
        raise ApiError(f"Send a JSON list of {name}.", code="invalid_batch")
    if not items:
        raise ApiError(f"The list of {name} is empty.", code="invalid_batch")
    if len(items) > serializers.MAX_BATCH:
        raise ApiError(
            f"At most {serializers.MAX_BATCH} {name} per request; this one has {len(items)}.",
            code="batch_too_large",
            status_code=413,
            details={"max": serializers.MAX_BATCH, "sent": len(items)},
        )
    return items


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


class ProductBulkView(APIView):
    """Upsert up to 1,000 products (the file contract as JSON objects)."""

    permission_classes = [HasScope]
    required_scope = "write-catalog"

    @extend_schema(
        operation_id="products_bulk_upsert",
        summary="Create or update products by external_id",
        description=(
            "A JSON list of 1 to 1,000 products (`external_id`, `title`, `price` required; the columns of "
            "the products file). Upsert by `external_id`; sending the same list twice changes nothing. "
            "By default a list with any invalid product stores nothing (400 `invalid_rows`, the report in "
            "`details`); `?skip_invalid=true` stores the valid ones and reports the others by index. "
            "`?full_sync=true` deactivates active products absent from the list."
        ),
        parameters=[
            OpenApiParameter("skip_invalid", bool, description="Store the valid products."),
            OpenApiParameter(
                "full_sync", bool, description="Deactivate products absent from the list."
            ),
        ],
        request=serializers.ProductInSerializer(many=True),
        responses={
            200: serializers.ImportReportSerializer,
            400: serializers.ErrorBodySerializer,
            413: serializers.ErrorBodySerializer,
        },
    )
    def post(self, request):
        items = _batch(request.data, name="products")
        report = products_import_objects(
            objects=items,
            skip_invalid=_flag(request, "skip_invalid"),
            full_sync=_flag(request, "full_sync"),
            origin="api",
        )
        body = report.as_dict()
        if not report.ok:
            raise ApiError(
                f"{report.rejected} of {report.total_rows} products are invalid; nothing was stored.",
                code="invalid_rows",
                details=body,
            )
        return Response(body, status=status.HTTP_200_OK)


class EventIngestView(APIView):
    """Store a batch of shopper events, idempotently by event_id."""

    permission_classes = [HasScope]
    required_scope = "events"
    throttle_scope = "events"

    @extend_schema(
        operation_id="events_ingest",
        summary="Send shopper events",
        description=(
            "Up to 1,000 events per request, each with its own `event_id`. Valid events are stored even "
            "when others are rejected; an `event_id` already stored is counted as a duplicate and not "
            "stored again (however often, and however concurrently, it is sent). Unknown shoppers are "
            "created; events for unknown products are rejected. Times are ISO 8601; without a zone, UTC."
        ),
        request=serializers.EventBatchSerializer,
        responses={
            202: serializers.EventIngestResultSerializer,
            400: serializers.ErrorBodySerializer,
            413: serializers.ErrorBodySerializer,
        },
    )
    def post(self, request):
        if not isinstance(request.data, dict) or "events" not in request.data:
            raise ApiError('Send {"events": [...]}.', code="invalid_batch")
        items = _batch(request.data["events"], name="events")
        report = events_ingest_objects(objects=items, origin="api")
        return Response(
            {
                "accepted": report.created,
                "duplicates": report.unchanged,
                "rejected": report.rejected,
                "errors": [
                    {"index": e.index, "field": e.field, "reason": e.reason} for e in report.errors
                ],
            },
            status=status.HTTP_202_ACCEPTED,
        )
