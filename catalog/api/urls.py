"""REST endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from catalog.api.privacy import ShopperExportView, ShopperForgetView
from catalog.api.views import EventIngestView, ProductBulkView

urlpatterns = [
    path("products/bulk", ProductBulkView.as_view(), name="api-products-bulk"),
    path("events", EventIngestView.as_view(), name="api-events"),
    # <path:…>: a shopper's external id may contain "/"
    path(
        "shoppers/<path:external_id>/export", ShopperExportView.as_view(), name="api-shopper-export"
    ),
    path(
        "shoppers/<path:external_id>/forget", ShopperForgetView.as_view(), name="api-shopper-forget"
    ),
]
