"""``Authorization: Api-Key <key>`` for storefront endpoints."""

from __future__ import annotations

import functools

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework import authentication, exceptions

from platform_core.api.throttling import ApiClientRateThrottle
from platform_core.api_keys import Riders
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
        view = (getattr(request, "parser_context", None) or {}).get("view")
        client, answers = api_client_authenticate(
            key, riders=functools.partial(_riders, view) if view is not None else None
        )
        if client is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if not client.active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if answers is not None:
            _keep_answers(request, view, client, answers)
        return AnonymousUser(), client

    def authenticate_header(self, request) -> str:
        return KEYWORD


# What rides in a held key's round trip (platform_core.api_keys.Riders): the view's API-client
# throttle window, and the generations the view reads (``read_with_key``, e.g. a serving view's
# models and config generations). A held key's request then makes one Redis round trip for its
# key, its throttle and its generations instead of three. The throttle counts the request
# before the view's permission check, not after it (DRF's order): a key that lacks the view's
# scope spends its rate on the 403s too.


def _riders(view, client) -> Riders:
    throttle = None
    for candidate in view.get_throttles():
        if isinstance(candidate, ApiClientRateThrottle):
            throttle = candidate.window_for_client(client, view)
            break
    reads = tuple(cache.make_key(counter.key) for counter in getattr(view, "read_with_key", ()))
    return Riders(throttle=throttle, reads=reads)


def _keep_answers(request, view, client, answers) -> None:
    """Leave the answers where the throttle and the view look for them (the Django request:
    DRF's request wraps it, and the throttle gets the same one)."""
    plain = request._request
    if answers.throttle is not None:
        key = ApiClientRateThrottle.key_for_client(client, view)
        plain.aisle_throttle_answers = {key: answers.throttle}
    counters = getattr(view, "read_with_key", ())
    if counters:
        plain.aisle_read_with_key = {
            counter.key: value for counter, value in zip(counters, answers.values, strict=True)
        }
