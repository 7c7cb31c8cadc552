"""REST endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from recommend.api import views

urlpatterns = [
    path("search", views.SearchView.as_view(), name="api-search"),
    path("recommendations", views.RecommendationsView.as_view(), name="api-recommendations"),
    path("products/<str:product_id>/similar", views.SimilarView.as_view(), name="api-similar"),
    path(
        "products/<str:product_id>/bought-together",
        views.BoughtTogetherView.as_view(),
        name="api-bought-together",
    ),
    path("trending", views.TrendingView.as_view(), name="api-trending"),
    path("answers", views.AnswersView.as_view(), name="api-answers"),
    path("autocomplete", views.AutocompleteView.as_view(), name="api-autocomplete"),
]
