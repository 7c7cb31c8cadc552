"""Request and response shapes of the catalog endpoints (for validation of the envelope and
for the OpenAPI schema). Rows are validated by ``catalog.formats`` — the same rules as files —
so a product or event is never judged by two sets of rules."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.formats.contract import EVENT_TYPES

MAX_BATCH = 1000


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": 9999999999.99},
            {"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$"},
        ],
        "description": "0 or more, at most 9999999999.99 and 2 decimal places: a JSON number or "
        "a string such as `19.90`. Empty is refused (the price is required).",
    }
)
class PriceField(serializers.DecimalField):
    """A price as the products contract reads it (``catalog.formats.values.as_price``)."""


class ProductInSerializer(serializers.Serializer):
    """One product in the file contract (CSV header names = JSON keys). Text holding a NUL
    character or a lone surrogate (here or in `attributes`) rejects the product."""

    external_id = serializers.CharField(max_length=128)
    title = serializers.CharField(max_length=500)
    price = PriceField(max_digits=12, decimal_places=2, min_value=0)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    category = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="A category's external_id; unknown is an error.",
    )
    brand = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Created when new."
    )
    currency = serializers.CharField(required=False, max_length=3, default="EUR")
    stock = serializers.IntegerField(required=False, min_value=0, default=0)
    image_url = serializers.URLField(required=False, allow_blank=True)
    attributes = serializers.DictField(required=False, default=dict)
    active = serializers.BooleanField(required=False, default=True)


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request (0-based).")
    field = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=["succeeded", "partial", "rejected", "failed"])
    total_rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    deactivated = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    duration_seconds = serializers.FloatField()
    import_run = serializers.IntegerField(allow_null=True)


class EventInSerializer(serializers.Serializer):
    """One shopper event (the events contract; ``event_id`` required here). A bad value —
    text holding a NUL character or a lone surrogate too — rejects that event only."""

    event_id = serializers.CharField(
        max_length=128, help_text="Idempotency key: an event is stored once."
    )
    shopper = serializers.CharField(
        max_length=128, help_text="Shopper external id; unknown shoppers are created."
    )
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    product = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Product external id; required for every type but search.",
    )
    timestamp = serializers.DateTimeField(
        help_text="ISO 8601; without a zone it is UTC. A time outside the years 1970-2100 "
        "rejects that event (listed in `errors`)."
    )
    query = serializers.CharField(required=False, allow_blank=True, max_length=500)
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    value = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Rating 1-5 (rating, review) or price paid (purchase).",
    )
    review = serializers.CharField(required=False, allow_blank=True)
    session = serializers.CharField(required=False, allow_blank=True, max_length=128)
    request_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The served result this event answers.",
    )


class EventBatchSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=EventInSerializer(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text=f"1 to {MAX_BATCH} events.",
    )


class EventRejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in `events` (0-based).")
    field = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class EventIngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Stored now.")
    duplicates = serializers.IntegerField(
        help_text="Already stored (same event_id); not stored again."
    )
    rejected = serializers.IntegerField()
    errors = EventRejectionSerializer(many=True)


class ErrorBodySerializer(serializers.Serializer):
    """Every API error: {"error": {"code", "message", "details"}}."""

    error = serializers.DictField()
