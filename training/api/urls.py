"""REST endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from training.api.views import JobCancelView, JobDetailView, JobListCreateView, ModelVersionListView

urlpatterns = [
    path("jobs", JobListCreateView.as_view(), name="api-jobs"),
    path("jobs/<int:pk>", JobDetailView.as_view(), name="api-job"),
    path("jobs/<int:pk>/cancel", JobCancelView.as_view(), name="api-job-cancel"),
    path("models", ModelVersionListView.as_view(), name="api-models"),
]
