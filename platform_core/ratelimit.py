"""The API throttle's sliding window as a Lua function, shared by the two scripts that run it.

``window(key, now, span, limit, member)`` keeps one caller's requests in a sorted set: it drops
those older than ``span`` seconds and, when fewer than ``limit`` remain, records this one
(returns ``1, ''``); otherwise it returns ``0`` and the seconds until enough of the recent ones
age out that one more fits. The throttle (``platform_core.api.throttling``) runs it on its own;
an API key's check (``platform_core.api_keys``) runs it in the same round trip when the key's
row is held. Plain module: the domain layer may not import the API package.
"""

from __future__ import annotations

WINDOW_FUNCTION = """
local function window(key, now, span, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local n = redis.call('ZCARD', key)
  if n < limit then
    redis.call('ZADD', key, now, member)
    redis.call('EXPIRE', key, math.ceil(span))
    return 1, ''
  end
  if limit <= 0 or n == 0 then return 0, tostring(span) end
  local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
  return 0, tostring(tonumber(oldest[2]) + span - now)
end
"""
