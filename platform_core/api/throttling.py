"""Per-API-client request throttling (staff callers are throttled per user)."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from platform_core.api.permissions import api_client


class ApiClientRateThrottle(SimpleRateThrottle):
    """Limits each API client (or staff user) to ``DEFAULT_THROTTLE_RATES['client']``.

    A view may set ``throttle_scope`` to use another named rate (e.g. ``events``).
    """

    scope = "client"

    def __init__(self):  # the rate depends on the view, so resolve it in allow_request
        pass

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None) or "client"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        client = api_client(request)
        if client is not None:
            ident = f"client-{client.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
