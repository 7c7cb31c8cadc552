"""Writes for the platform app: API clients (create, rotate, revoke, authenticate), audit, and
staff users in a role."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    get_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from platform_core import api_keys
from platform_core.models import PUBLIC_SCOPES, ApiClient, ApiScope, AuditLog, User
from platform_core.roles import ROLE_APP_PERMISSIONS

logger = logging.getLogger(__name__)

KEY_PREFIX_LEN = 8


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    """A key ``ak_<prefix>_<secret>``; the prefix is stored in clear to find the row."""
    prefix = secrets.token_hex(KEY_PREFIX_LEN // 2)
    return prefix, f"ak_{prefix}_{secrets.token_urlsafe(32)}"


def audit_record(
    *,
    actor,
    action: str,
    obj: Any = None,
    details: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditLog:
    """Record an operator action. ``actor`` may be None for system actions, or the
    :class:`ApiClient` whose key made the call (named ``api-client:<name>`` in the log)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    if isinstance(actor, ApiClient):
        user, actor_name = None, f"api-client:{actor.name}"
    else:
        user = actor if getattr(actor, "pk", None) else None
        actor_name = getattr(actor, "username", "") or ""
    return AuditLog.objects.create(
        actor=user,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        details=details or {},
    )


def parse_scopes(scopes: Iterable[str] | str) -> list[str]:
    """Validate scope names (a list or a comma-separated string)."""
    if isinstance(scopes, str):
        scopes = [s for s in (part.strip() for part in scopes.split(",")) if s]
    scopes = list(dict.fromkeys(scopes))
    valid = set(ApiScope.values)
    unknown = [s for s in scopes if s not in valid]
    if unknown:
        raise ValidationError(
            f"Unknown scope(s): {', '.join(unknown)}. Valid scopes: {', '.join(sorted(valid))}."
        )
    if not scopes:
        raise ValidationError("An API client needs at least one scope.")
    return scopes


def validate_client_settings(
    *, scopes: list[str], public: bool, allowed_origins: list[str]
) -> None:
    if public:
        extra = set(scopes) - set(PUBLIC_SCOPES)
        if extra:
            raise ValidationError(
                f"A public key (held by browsers) may only have the read and events scopes, not: {', '.join(sorted(extra))}."
            )
    for origin in allowed_origins:
        if (
            not origin.startswith(("http://", "https://"))
            or origin.rstrip("/") != origin
            or origin.count("/") > 2
        ):
            raise ValidationError(
                f"Origin {origin!r} must look like https://shop.example.com (scheme and host, no path)."
            )
    if allowed_origins and not public:
        raise ValidationError("Allowed origins only apply to public keys.")


@transaction.atomic
def api_client_create(
    *,
    name: str,
    scopes: Iterable[str] | str,
    public: bool = False,
    allowed_origins: Iterable[str] = (),
    created_by=None,
) -> tuple[ApiClient, str]:
    """Create a client; returns it and its key (shown once, stored as a hash)."""
    scopes = parse_scopes(scopes)
    origins = [o.strip() for o in allowed_origins if o.strip()]
    validate_client_settings(scopes=scopes, public=public, allowed_origins=origins)
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError(f"An API client named {name!r} already exists.")
    prefix, key = _new_key()
    client = ApiClient.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_hash_key(key),
        scopes=scopes,
        public=public,
        allowed_origins=origins,
        created_by=created_by,
    )
    audit_record(
        actor=created_by,
        action="api_client.create",
        obj=client,
        details={"scopes": scopes, "public": public},
    )
    return client, key


@transaction.atomic
def api_client_rotate(*, client: ApiClient, actor=None) -> str:
    """Issue a new key for the client; the old one stops working at once."""
    prefix, key = _new_key()
    client.prefix, client.key_hash, client.rotated_at = prefix, _hash_key(key), timezone.now()
    client.save(update_fields=["prefix", "key_hash", "rotated_at"])
    audit_record(actor=actor, action="api_client.rotate", obj=client)
    return key


def api_client_revoke(*, client: ApiClient, actor=None) -> None:
    client.active = False
    client.save(update_fields=["active"])
    audit_record(actor=actor, action="api_client.revoke", obj=client)


def api_client_authenticate(
    key: str, *, riders=None
) -> tuple[ApiClient | None, api_keys.RiderAnswers | None]:
    """The client whose key this is (or None), and what ``riders`` asked for. Counts the request
    of an active client.

    A process holds the rows of the active keys it has seen (``platform_core.api_keys``): a
    request with a held key costs one Redis round trip and no SQL, and ``riders(client)`` (a
    throttle window, values to read: :class:`~platform_core.api_keys.Riders`) ride in it. The
    answers are None when the row was read instead: the request does those itself."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "ak":
        return None, None
    key_hash = _hash_key(key)
    # The row this process holds for the key, when still current, counted in one round trip.
    client, generation, answers = api_keys.held_client(
        key_hash,
        counts_key=USAGE_COUNTS_KEY,
        seen_key=USAGE_SEEN_KEY,
        now=timezone.now().timestamp(),
        riders=riders,
    )
    if client is not None:
        return client, answers
    client = ApiClient.objects.filter(prefix=parts[1]).first()
    if client is None or not hmac.compare_digest(client.key_hash, key_hash):
        return None, None
    if client.active:
        _count_request(client)
        api_keys.hold(key_hash, client, generation)
    return client, None


USAGE_COUNTS_KEY = "aisle:platform:apiclient-usage"
USAGE_SEEN_KEY = "aisle:platform:apiclient-last-used"

# Take every pending count and last-use time and clear them, atomically (KEYS: counts, seen).
_USAGE_TAKE = """
local counts = redis.call('HGETALL', KEYS[1])
local seen = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {counts, seen}
"""


def _count_request(client: ApiClient) -> None:
    """Count the request in Redis (one pipelined round trip, no database write): an UPDATE per
    request is a commit on the serving path (~7 ms measured in bench/search_latency.py).
    :func:`api_client_usage_flush` (beat, every minute) writes the totals to the rows."""
    from platform_core.buffers import redis_client

    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.hincrby(USAGE_COUNTS_KEY, str(client.pk), 1)
        pipe.hset(USAGE_SEEN_KEY, str(client.pk), str(timezone.now().timestamp()))
        pipe.execute()
    except Exception:  # usage statistics must never fail a request
        logger.warning("API client usage count failed", exc_info=True)


def api_client_usage_flush() -> int:
    """Add the request counts counted in Redis since the last flush to ``request_count`` and set
    ``last_used_at``; returns how many requests were written. Counts taken from Redis are put
    back if the database write fails, so none is lost."""
    from datetime import UTC, datetime

    from platform_core.buffers import redis_client

    client = redis_client()
    counts_raw, seen_raw = client.register_script(_USAGE_TAKE)(
        keys=[USAGE_COUNTS_KEY, USAGE_SEEN_KEY]
    )
    counts = {int(counts_raw[i]): int(counts_raw[i + 1]) for i in range(0, len(counts_raw), 2)}
    seen = {int(seen_raw[i]): float(seen_raw[i + 1]) for i in range(0, len(seen_raw), 2)}
    try:
        with transaction.atomic():
            for pk, count in counts.items():
                last = datetime.fromtimestamp(seen.get(pk, timezone.now().timestamp()), tz=UTC)
                ApiClient.objects.filter(pk=pk).update(
                    request_count=F("request_count") + count, last_used_at=last
                )
    except Exception:
        pipe = client.pipeline(transaction=True)
        for pk, count in counts.items():
            pipe.hincrby(USAGE_COUNTS_KEY, str(pk), count)
        pipe.execute()
        raise
    return sum(counts.values())


# --------------------------------------------------------------------------- staff users

# Groups the courses app creates for its labs (``lab:<slug>``): internal, never picked by hand.
INTERNAL_GROUP_PREFIX = "lab:"
# A staff password is checked by AUTH_PASSWORD_VALIDATORS, or by Django's standard four when the
# settings configure none: a staff account opens the admin.
STANDARD_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]


def staff_password_validate(password: str, *, username: str, email: str = "") -> None:
    """Raise ``ValidationError`` (every reason) for a password a staff account may not have."""
    validators = get_default_password_validators() or get_password_validators(
        STANDARD_PASSWORD_VALIDATORS
    )
    validate_password(
        password, user=User(username=username, email=email), password_validators=validators
    )


def staff_user_create(*, username: str, role: str, password: str, email: str = "", actor=None):
    """A staff member in one role (a group of ``platform_core.roles``): operators and analysts
    may sign in to the admin, learners to the Academy only. The password is checked by the
    configured validators and stored hashed; the creation is audited (never the password)."""
    username = (username or "").strip()
    if role not in ROLE_APP_PERMISSIONS:
        raise ValidationError(
            f"Unknown role {role!r}: one of {', '.join(sorted(ROLE_APP_PERMISSIONS))}."
        )
    if not username:
        raise ValidationError("A username is required.")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(f"A user named {username!r} already exists.")
    group = Group.objects.filter(name=role).first()
    if group is None:
        raise ValidationError(f"The {role} group is missing: run manage.py migrate.")
    staff_password_validate(password, username=username, email=email)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, is_staff=role != "learner"
        )
        user.groups.add(group)
        audit_record(actor=actor, action="user.create", obj=user, details={"role": role})
    return user
