"""Per-API-client request throttling (staff callers are throttled per user).

A throttled call gets ``429`` with the house JSON error body (code ``throttled``, the wait in
``details.retry_after_seconds``) and a ``Retry-After`` header with the same whole seconds; see
``platform_core.api.exceptions``.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from platform_core import buffers
from platform_core.api.permissions import api_client

logger = logging.getLogger(__name__)


# A sliding window of one key's requests in a sorted set, checked and recorded in one round trip
# (KEYS: the set; ARGV: now, window seconds, limit, a unique member). Returns {allowed, wait}:
# when refused, the seconds until enough of the recent requests age out that one more fits.
_SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window))
  return {1, ''}
end
if limit <= 0 or n == 0 then return {0, tostring(window)} end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""


class ApiClientRateThrottle(SimpleRateThrottle):
    """Limits each API client (or staff user) to ``DEFAULT_THROTTLE_RATES['client']``.

    A view may set ``throttle_scope`` to use another named rate (e.g. ``events``). The window
    slides as DRF's does (a request counts for ``duration`` seconds after it was allowed; a
    refused one does not count), but the history is a Redis sorted set checked and appended by
    one script: one round trip per request instead of a GET and a SET of the pickled history,
    and two processes can no longer overwrite each other's requests. A Redis outage lets the
    request through (logged): throttling must never fail a request.
    """

    scope = "client"
    cache_format = "throttle:%(scope)s:%(ident)s"  # a sorted set, not DRF's pickled list

    def __init__(self):  # the rate depends on the view, so resolve it in allow_request
        self._wait = 0.0

    def get_rate(self) -> str | None:
        # DRF's class attribute THROTTLE_RATES is the dict of whatever settings were active when
        # this class was first imported; read the current settings on every request instead.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None) or "client"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        try:
            allowed, wait = _script()(
                keys=[cache.make_key(key)],
                args=[repr(now), self.duration, self.num_requests, f"{now!r}:{uuid.uuid4().hex}"],
            )
        except Exception:
            logger.warning("throttle check failed: request let through", exc_info=True)
            return True
        if int(allowed):
            return True
        self._wait = float(wait)
        return False

    def wait(self) -> float:
        """Seconds until the key may call again: until enough of its recent requests age out of
        the window that one more fits. (DRF's estimate gives none when the history holds more
        requests than the rate allows, e.g. after the rate was lowered, and then no Retry-After.)"""
        return max(self._wait, 1.0)

    def get_cache_key(self, request, view):
        client = api_client(request)
        if client is not None:
            ident = f"client-{client.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


_scripts: dict = {}


def _script():
    client = buffers.redis_client()
    script = _scripts.get("window")
    if script is None or script.registered_client is not client:
        script = _scripts["window"] = client.register_script(_SLIDING_WINDOW)
    return script
