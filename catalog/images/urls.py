"""Product pictures served from MEDIA_ROOT (checked files only: the ``products/`` folder).
A deployment behind a web server can serve MEDIA_ROOT itself and drop this route."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

urlpatterns = [
    re_path(
        r"^(?P<path>products/[\w/.-]+)$",
        serve,
        {"document_root": settings.MEDIA_ROOT},
        name="product-image-file",
    ),
]
