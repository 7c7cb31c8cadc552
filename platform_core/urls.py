"""Top-level URLs: admin, Academy, REST API (v1), API schema and docs, health probes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from platform_core import health, metrics_endpoint, security

if settings.STAFF_OTP_REQUIRED:  # the admin also asks staff for a one-time code (django-otp)
    security.staff_otp_enable(admin.site)

admin.site.site_header = "Aisle administration"
admin.site.site_title = "Aisle admin"
admin.site.index_title = "Catalog, models, experiments and the Academy"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("academy/", include("courses.urls")),
    path("api/v1/", include("platform_core.api.urls")),
    path("api/v1/", include("catalog.api.urls")),
    path("api/v1/", include("training.api.urls")),
    path("api/v1/", include("recommend.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's initialisation as a script file: no inline script (CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
]

handler404 = "platform_core.api.exceptions.not_found"
handler500 = "platform_core.api.exceptions.server_error"
