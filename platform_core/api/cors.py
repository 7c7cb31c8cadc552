"""CORS only for the origins listed on active public API clients."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache

CACHE_KEY = "platform:cors-origins"


def allowed_origins() -> set[str]:
    origins = cache.get(CACHE_KEY)
    if origins is None:
        from platform_core.models import ApiClient

        origins = set()
        for row in ApiClient.objects.filter(active=True, public=True).values_list(
            "allowed_origins", flat=True
        ):
            origins.update(row)
        cache.set(CACHE_KEY, origins, 60)
    return origins


def cors_allow_public_origins(sender, request, **kwargs) -> bool:
    """django-cors-headers' ``check_request_enabled`` signal: a True answer enables CORS for the
    request *whatever its path* (the signal is ORed with ``CORS_URLS_REGEX``), so the path is
    checked here too: a public key's origin gets CORS headers on the API only, never on the
    admin, the Academy, the API docs or the health probes."""
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request.headers.get("Origin")
    return bool(origin) and origin in allowed_origins()


def invalidate(**kwargs) -> None:
    cache.delete(CACHE_KEY)
