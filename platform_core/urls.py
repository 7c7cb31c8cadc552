"""Top-level URLs: admin, Academy, REST API (v1), API schema and docs, health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from platform_core import health, metrics_endpoint

# admin.site is Aisle's own site (platform_core.admin_site.site.AisleAdminSite, installed by
# platform_core.apps.AisleAdminConfig): its home dashboard, the lab scope and the optional
# second factor for staff (STAFF_OTP_REQUIRED) are part of the class.

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
    path("api/v1/", include("recommend.promotions.api.urls")),
    path("api/v1/", include("recommend.api.image_urls")),
    path("media/", include("catalog.images.urls")),
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
