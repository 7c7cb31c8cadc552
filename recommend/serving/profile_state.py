"""A shopper's profile computed from their events, reading only: the engaged and purchased
products, the recent ones, category interests and (under a retriever) the decayed profile
vector. Event ingestion's refresh (``recommend.services.shopper_profiles_refresh``) stores it;
a request that finds none stored computes it here and stores nothing.
"""

from __future__ import annotations

import numpy as np
from django.db import connection

from recommend.engine import profiles
from recommend.selectors import ProfileState, ShopperRef, VersionRef
from recommend.serving.retrievers import PgVectorIndex

PROFILE_EVENTS = 300
PROFILE_HALF_LIFE_DAYS = 14.0
INTEREST_HALF_LIFE_DAYS = 30.0


def profile_compute(*, shopper: ShopperRef, retriever: VersionRef | None) -> ProfileState:
    """The shopper's profile from their last ``PROFILE_EVENTS`` weighted events (no writes)."""
    weighted = tuple(profiles.EVENT_WEIGHTS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, bool_or(type = 'purchase') FROM catalog_event "
            "WHERE shopper_id = %s AND product_id IS NOT NULL GROUP BY product_id",
            [shopper.id],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT e.product_id, e.type, e.timestamp, p.category_id FROM catalog_event e "
            "JOIN catalog_product p ON p.id = e.product_id WHERE e.shopper_id = %s AND e.type = ANY(%s) "
            f"ORDER BY e.timestamp DESC, e.id DESC LIMIT {PROFILE_EVENTS}",
            [shopper.id, list(weighted)],
        )
        events = cursor.fetchall()
    state = ProfileState(
        seen={pk for pk, _ in rows},
        purchased={pk for pk, bought in rows if bought},
        event_count=len(events),
    )
    if not events:
        return state
    reference = events[0][2]
    state.recent = list(dict.fromkeys(pk for pk, *_ in events))
    state.recent_purchases = list(
        dict.fromkeys(pk for pk, kind, *_ in events if kind in ("purchase", "add_to_cart"))
    )
    interests = profiles.category_interests(
        [cat for *_, cat in events],
        [ts for _, _, ts, _ in events],
        [kind for _, kind, _, _ in events],
        reference,
        half_life_days=INTEREST_HALF_LIFE_DAYS,
    )
    state.interests = {int(k): float(v) for k, v in interests.items()}
    if retriever is not None and retriever.dimension:
        index = PgVectorIndex(retriever.space_id, retriever.dimension)
        vectors = index.vectors(state.recent)
        usable = [(pk, kind, ts) for pk, kind, ts, _ in events if pk in vectors]
        if usable:
            matrix = np.stack([vectors[pk] for pk, _, _ in usable])
            vector = profiles.decayed_profile(
                matrix,
                [ts for *_, ts in usable],
                [k for _, k, _ in usable],
                reference,
                half_life_days=PROFILE_HALF_LIFE_DAYS,
            )
            if float(np.linalg.norm(vector)) > 0:
                state.vector = vector.astype(np.float32)
                state.vector_events = len(usable)
    return state
