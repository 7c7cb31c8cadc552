"""Search by image endpoints, mounted under /api/v1/."""

from django.urls import path

from recommend.api import image_views

urlpatterns = [
    path("search/image", image_views.ImageSearchView.as_view(), name="api-search-image"),
    path(
        "products/<str:product_id>/visually-similar",
        image_views.VisuallySimilarView.as_view(),
        name="api-visually-similar",
    ),
]
