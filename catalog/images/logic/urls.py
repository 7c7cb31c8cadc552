"""Which picture URLs the platform may fetch: none unless fetching is switched on, and then
only over HTTP(S) from hosts on the allow-list (no server-side request forgery: no other
host, no IP literal, no port other than the scheme's own).  Plain Python, no Django."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL may not be fetched; the message says why."""


def check_fetch_url(url: str, *, enabled: bool, allowed_hosts: tuple[str, ...]) -> str:
    """The URL when it may be fetched, else ``UrlRefused``."""
    if not enabled:
        raise UrlRefused("fetching image URLs is off (AISLE_IMAGE_URL_FETCH)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"scheme {parts.scheme or 'none'!r} is not http or https")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlRefused("the URL names no host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise UrlRefused("an IP address is never fetched: name an allowed host")
    if parts.username or parts.password:
        raise UrlRefused("credentials in the URL are refused")
    if parts.port not in (None, 80, 443):
        raise UrlRefused(f"port {parts.port} is refused")
    allowed = {h.lower().rstrip(".") for h in allowed_hosts}
    if host not in allowed:
        raise UrlRefused(f"host {host!r} is not on the allow-list (AISLE_IMAGE_URL_HOSTS)")
    return url
