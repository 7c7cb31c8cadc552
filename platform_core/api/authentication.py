"""``Authorization: Api-Key <key>`` for storefront endpoints."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from platform_core.services import api_client_authenticate

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Sets ``request.auth`` to the :class:`~platform_core.models.ApiClient`; user stays anonymous."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            keyword, _, key = header.decode("latin-1").partition(" ")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "The Authorization header is not valid text."
            ) from None
        if keyword != KEYWORD:
            return None  # Token / other schemes are handled by the next authenticator
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("The Api-Key header carries no key.")
        client = api_client_authenticate(key)
        if client is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if not client.active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        return AnonymousUser(), client

    def authenticate_header(self, request) -> str:
        return KEYWORD
