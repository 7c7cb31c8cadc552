"""Security helpers that settings and the login lockout use. Plain Python: no Django import at
module level, because ``settings.py`` imports this module before Django is configured.

- ``secret_key_load``: the signing key from the environment, else from ``DATA_DIR/secret_key``
  (created once with a random value, mode 0600), so a fresh clone never runs on a public key.
- ``client_ip_from``: the client address for lockout counting, taken from ``X-Forwarded-For``
  only as far as the operator says proxies are trusted (``TRUSTED_PROXY_COUNT``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path

# Keys that were ever published with the code (settings' old default, .env.example's
# placeholder). A process with DEBUG off refuses to start with one of them.
PUBLIC_SECRET_KEYS = frozenset(
    {"aisle-dev-insecure-change-me", "change-me-to-a-long-random-string"}
)
SECRET_KEY_FILENAME = "secret_key"


class InsecureSecretKey(RuntimeError):
    """The configured SECRET_KEY is one that was published with the code."""


def secret_key_load(*, configured: str, data_dir: Path, debug: bool) -> str:
    """Return the key to sign sessions and tokens with.

    ``configured`` (the SECRET_KEY environment variable) wins when set. Otherwise the key is read
    from ``data_dir/secret_key``; the first process to need it creates it with 50 random bytes,
    readable by its owner only. Creation is atomic (a temporary file hard-linked into place), so
    the web server, the workers and beat starting together on one shared DATA_DIR agree on one key.
    """
    key = configured.strip()
    if not key:
        key = _secret_key_file(Path(data_dir))
    if not debug and key in PUBLIC_SECRET_KEYS:
        raise InsecureSecretKey(
            "SECRET_KEY is a value published with Aisle's source code; anyone can forge sessions "
            "with it. Unset SECRET_KEY (a random key is then kept in DATA_DIR/secret_key) or set "
            "it to a long random string, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    return key


def _secret_key_file(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILENAME
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{SECRET_KEY_FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first: theirs wins
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def client_ip_from(
    *, remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int
) -> str | None:
    """The client's address as far as it can be trusted.

    With ``trusted_proxies == 0`` (the default: the app is reached directly) ``X-Forwarded-For``
    is ignored, because any client can send it. With N trusted reverse proxies in front, each of
    them appends the address it received the request from, so the N-th entry from the right was
    written by our outermost proxy and is the real client; entries further left are the
    client's own claims and are never used. A header shorter than that, or an entry that is not
    an IP address, falls back to the socket address.
    """
    if trusted_proxies > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            candidate = hops[-trusted_proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote_addr or None


def client_ip(request) -> str | None:
    """django-axes' ``AXES_CLIENT_IP_CALLABLE``: ``client_ip_from`` on a request."""
    from django.conf import settings  # at call time: this module is imported by settings

    return client_ip_from(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=getattr(settings, "TRUSTED_PROXY_COUNT", 0),
    )
