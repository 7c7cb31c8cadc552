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
from platform_core.ratelimit import WINDOW_FUNCTION

logger = logging.getLogger(__name__)


# A sliding window of one key's requests in a sorted set, checked and recorded in one round trip
# (KEYS: the set; ARGV: now, window seconds, limit, a unique member). Returns {allowed, wait}:
# when refused, the seconds until enough of the recent requests age out that one more fits.
_SLIDING_WINDOW = (
    WINDOW_FUNCTION
    + """
local allowed, wait = window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  ARGV[4])
return {allowed, wait}
"""
)


class ApiClientRateThrottle(SimpleRateThrottle):
    """Limits each API client (or staff user) to ``DEFAULT_THROTTLE_RATES['client']``.

    A view may set ``throttle_scope`` to use another named rate (e.g. ``events``). The window
    slides as DRF's does (a request counts for ``duration`` seconds after it was allowed; a
    refused one does not count), but the history is a Redis sorted set checked and appended by
    one script: one round trip per request instead of a GET and a SET of the pickled history,
    and two processes can no longer overwrite each other's requests; none of its own when the
    caller's API key is held, whose check runs the window (``window_for_client``). A Redis
    outage lets the request through (logged): throttling must never fail a request.
    """

    scope = "client"
    cache_format = "throttle:%(scope)s:%(ident)s"  # a sorted set, not DRF's pickled list

    def __init__(self):  # the rate depends on the view, so resolve it in allow_request
        self._wait = 0.0

    def get_rate(self) -> str | None:
        # DRF's class attribute THROTTLE_RATES is the dict of whatever settings were active when
        # this class was first imported; read the current settings on every request instead.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    @staticmethod
    def _scope_of(view) -> str:
        return getattr(view, "throttle_scope", None) or "client"

    def _resolve(self, view) -> None:
        self.scope = self._scope_of(view)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def _window_args(self) -> list:
        now = self.timer()
        return [repr(now), self.duration, self.num_requests, f"{now!r}:{uuid.uuid4().hex}"]

    def window_for_client(self, client, view) -> tuple[str, list] | None:
        """The window this view's request by ``client`` runs (its set's Redis key and the
        script's arguments), for the API key's round trip to run it instead
        (``platform_core.api.authentication``); None when the view's rate is off."""
        self._resolve(view)
        if self.rate is None:
            return None
        return cache.make_key(self.key_for_client(client, view)), self._window_args()

    @classmethod
    def key_for_client(cls, client, view) -> str:
        return cls.cache_format % {"scope": cls._scope_of(view), "ident": f"client-{client.pk}"}

    def allow_request(self, request, view):
        self._resolve(view)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # Already run in the API key's round trip (a held key): its answer, once.
        ran = getattr(request._request, "aisle_throttle_answers", None)
        answer = ran.pop(key, None) if ran else None
        if answer is None:
            try:
                answer = _script()(keys=[cache.make_key(key)], args=self._window_args())
            except Exception:
                logger.warning("throttle check failed: request let through", exc_info=True)
                return True
        allowed, wait = answer
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
            return self.key_for_client(client, view)
        if request.user and request.user.is_authenticated:
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
