"""REST endpoint of the promotions, mounted under /api/v1/."""

from django.urls import path

from recommend.promotions.api import views

urlpatterns = [
    path("promotions", views.PromotionsView.as_view(), name="api-promotions"),
]
