"""The shopper's profile as a request reads it: the one event ingestion stored, never computed
here (``recommend.services.shopper_profiles_refresh`` does, queued when events commit).

A profile behind the shopper's ``profile_version`` (its refresh is on its way) serves as it is,
and the response is not cached, so the next request sees the new profile. A shopper with events
but no stored profile (events written in bulk, by the demo store or a file import; Redis lost
it, or it expired) gets one computed from their events for this request, reading only, and a
refresh that stores it is requested: one per shopper per minute at most.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from recommend import selectors
from recommend.selectors import ProfileState
from recommend.serving.context import ServingContext
from recommend.serving.profile_state import profile_compute
from recommend.tasks import refresh_profiles

logger = logging.getLogger(__name__)

REFRESH_REQUEST_SECONDS = 60


def shopper_profile(ctx: ServingContext) -> ProfileState | None:
    """The request's shopper's stored profile under its retriever (None when anonymous)."""
    if ctx.shopper is None:
        return None
    state = selectors.stored_profile(shopper_id=ctx.shopper.id, retriever=ctx.models.retriever)
    if ctx.shopper.profile_version > 0 and state.version < 0:
        if not ctx.read_only:
            _request_refresh(ctx.shopper.id)
        state = profile_compute(shopper=ctx.shopper, retriever=ctx.models.retriever)
        state.version = ctx.shopper.profile_version
        ctx.notes["profile"] = "computed"
    elif state.version < ctx.shopper.profile_version:
        ctx.notes["profile"] = "stale"
    return state


def cacheable(ctx: ServingContext) -> bool:
    """Whether the response may be cached: not when it used a profile behind the shopper, nor
    when an operator previews it (a read-only request stores nothing)."""
    return "profile" not in ctx.notes and not ctx.read_only


def _request_refresh(shopper_id: int) -> None:
    try:
        key = f"recommend:profile-refresh-requested:{shopper_id}"
        if cache.add(key, 1, timeout=REFRESH_REQUEST_SECONDS):
            refresh_profiles.delay(shopper_ids=[shopper_id])
    except Exception:  # a broker outage must not fail the request that noticed the miss
        logger.warning("could not request a profile refresh", exc_info=True)
