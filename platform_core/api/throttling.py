"""Per-API-client request throttling (staff callers are throttled per user).

A throttled call gets ``429`` with the house JSON error body (code ``throttled``, the wait in
``details.retry_after_seconds``) and a ``Retry-After`` header with the same whole seconds; see
``platform_core.api.exceptions``.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from platform_core.api.permissions import api_client


class ApiClientRateThrottle(SimpleRateThrottle):
    """Limits each API client (or staff user) to ``DEFAULT_THROTTLE_RATES['client']``.

    A view may set ``throttle_scope`` to use another named rate (e.g. ``events``).
    """

    scope = "client"

    def __init__(self):  # the rate depends on the view, so resolve it in allow_request
        pass

    def get_rate(self) -> str | None:
        # DRF's class attribute THROTTLE_RATES is the dict of whatever settings were active when
        # this class was first imported; read the current settings on every request instead.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None) or "client"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def wait(self) -> float:
        """Seconds until the key may call again: until enough of its recent requests age out of
        the window that one more fits. (DRF's estimate gives none when the history holds more
        requests than the rate allows, e.g. after the rate was lowered, and then no Retry-After.)"""
        if self.num_requests <= 0 or not self.history:
            return float(self.duration)
        index = min(self.num_requests, len(self.history)) - 1
        return max(self.history[index] + self.duration - self.now, 1.0)

    def get_cache_key(self, request, view):
        client = api_client(request)
        if client is not None:
            ident = f"client-{client.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
