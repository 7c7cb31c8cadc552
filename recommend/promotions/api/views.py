"""``GET /api/v1/promotions``: the campaign product that fits the shopper best, or none."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from recommend.analytics import services as analytics_services
from recommend.api.views import _ERRORS, _SIMULATED, SIMULATED_TIME_HEADER, ServingView
from recommend.promotions import services
from recommend.promotions.api import serializers

_EXAMPLE = {
    "promotion": {
        "campaign": {"id": 3, "name": "Trail running week"},
        "product": {
            "id": "P-1042",
            "title": "Ridge trail shoe",
            "price": 89.0,
            "currency": "EUR",
            "category": {"id": "shoes-trail", "name": "Trail shoes"},
            "brand": "Northpeak",
            "image_url": "",
            "in_stock": True,
        },
        "copy": {
            "title": "Ridge trail shoe",
            "line": "From the trail shoes range you return to: Ridge trail shoe by Northpeak, "
            "89.00 EUR.",
            "source": "approved_copy",
            "segment": "Trail shoes & Outdoor",
            "copy_id": 118,
        },
        "reason": "shoppers with similar taste liked it",
        "personalised": True,
        "score": 0.032787,
    },
    "arm": "treated",
    "reason": "served",
    "request_id": "3f1c9a0e6b2d4f7a",
    "variant": None,
    "served_at": "2030-06-15T12:00:00+00:00",
}


class PromotionsView(ServingView):
    """A personalised promotion for a storefront slot."""

    surface = "recommendations"  # the strategy whose models and weights score the products
    endpoint = "promotions"
    query_serializer = serializers.PromotionsQuery

    @extend_schema(
        parameters=[serializers.PromotionsQuery, _SIMULATED],
        responses={200: serializers.PromotionsOut, **_ERRORS},
        examples=[
            OpenApiExample("a promotion", value=_EXAMPLE, response_only=True),
            OpenApiExample(
                "a held-out shopper",
                value={
                    "promotion": None,
                    "arm": "control",
                    "reason": "control",
                    "campaign": {"id": 3, "name": "Trail running week"},
                    "request_id": "9b0d2c4e1a3f5e7d",
                    "variant": None,
                    "served_at": "2030-06-15T12:00:00+00:00",
                },
                response_only=True,
            ),
        ],
        summary="A personalised promotion",
        description="Among the running campaigns with impressions left, the campaign product "
        "that fits the shopper best (the recommendation scores; popularity for an unknown "
        "shopper). A shopper held out as the campaign's control, one who opted out of "
        "personalised promotions or was forgotten gets `promotion: null`: show the slot's "
        "usual content. Send `request_id` back with the shopper's click and purchase events.",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        ctx = self.context(request, params)
        body = services.promotion_serve(ctx, params.get("slot") or "")
        analytics_services.served_record(ctx=ctx, body=body, endpoint=self.endpoint)
        body = {k: v for k, v in body.items() if k != "results"}
        body.update(request_id=ctx.request_id, variant=None, served_at=ctx.now.isoformat())
        response = Response(body)
        response["X-Request-ID"] = ctx.request_id
        if ctx.simulated:
            response[SIMULATED_TIME_HEADER] = ctx.now.isoformat()
        return response
