"""REST endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from catalog.api.views import EventIngestView, ProductBulkView

urlpatterns = [
    path("products/bulk", ProductBulkView.as_view(), name="api-products-bulk"),
    path("events", EventIngestView.as_view(), name="api-events"),
]
