"""``/metrics``: the Prometheus text exposition, for the internal network or a bearer token.

Access (docs/operations.md, "Metrics"):

- ``Authorization: Bearer <METRICS_TOKEN>`` is always accepted (a wrong token is a 403);
- otherwise the client address must be in ``METRICS_ALLOWED_NETWORKS`` (default: loopback).
  The address is the one the login lockout trusts (``platform_core.security.client_ip``:
  ``X-Forwarded-For`` only as far as ``TRUSTED_PROXY_COUNT`` says). With no trusted proxy, a
  request carrying ``X-Forwarded-For`` came through a proxy this app was not told about — a
  reverse proxy on the same host would make every outside caller look like loopback — so it
  needs the token.

Refusals are the API's JSON errors: 401 when a token is configured and none was sent, 403
otherwise.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from platform_core import metrics
from platform_core.api.exceptions import error_body
from platform_core.security import client_ip


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _internal(request) -> bool:
    if settings.TRUSTED_PROXY_COUNT == 0 and request.META.get("HTTP_X_FORWARDED_FOR"):
        return False
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def access_refusal(request) -> JsonResponse | None:
    """None when the request may read the metrics, else the JSON refusal."""
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, sent = header.partition(" ")
    if scheme.lower() == "bearer" and sent.strip():
        if token and hmac.compare_digest(sent.strip().encode(), token.encode()):
            return None
        return _refusal(403, "permission_denied", "That metrics token is not valid.")
    if _internal(request):
        return None
    if token:
        return _refusal(
            401,
            "not_authenticated",
            "Send the metrics token: `Authorization: Bearer <METRICS_TOKEN>`.",
        )
    return _refusal(
        403,
        "permission_denied",
        "Metrics are served to the internal networks (METRICS_ALLOWED_NETWORKS) or with a "
        "bearer token (METRICS_TOKEN, unset here).",
    )


def metrics_view(request):
    """The Prometheus text format (version 0.0.4)."""
    if request.method not in ("GET", "HEAD"):
        response = _refusal(405, "method_not_allowed", "Read the metrics with GET.")
        response["Allow"] = "GET, HEAD"
        return response
    refusal = access_refusal(request)
    if refusal is not None:
        return refusal
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
