"""A shopper's rights: export everything held about them, or forget them (sections and
hooks of other apps through :mod:`catalog.privacy`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog import privacy
from catalog.formats.writing import json_value
from catalog.models import Event, SearchLog, Shopper
from platform_core.services import audit_record

_subject_ref = privacy.subject_ref


def shopper_export(*, external_id: str, actor=None) -> dict[str, Any]:
    """Everything held about a shopper, as JSON-ready data (sections from every app)."""
    shopper = Shopper.objects.get(external_id=external_id)
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "shopper": {
            "external_id": shopper.external_id,
            "segment": shopper.segment,
            "country": shopper.country,
            "signup_date": shopper.signup_date.isoformat() if shopper.signup_date else None,
            "attributes": shopper.attributes,
            "category_interests": shopper.category_interests,
            "profile_version": shopper.profile_version,
            "created_at": shopper.created_at.isoformat(),
            "last_seen_at": shopper.last_seen_at.isoformat() if shopper.last_seen_at else None,
            # A decision about the shopper (e.g. judged bot-like by the data quality report).
            "exclude_from_training": shopper.exclude_from_training,
            "promotions_opt_out": shopper.promotions_opt_out,
        },
        "events": [
            {
                **{k: json_value(v) for k, v in row.items() if k not in ("product__external_id",)},
                "product": row["product__external_id"],
            }
            for row in shopper.events.order_by("timestamp", "id").values(
                "event_id",
                "type",
                "product__external_id",
                "timestamp",
                "query",
                "position",
                "value",
                "review",
                "session",
                "request_id",
                "received_at",
            )
        ],
        "searches": [
            {k: json_value(v) for k, v in row.items()}
            for row in shopper.searches.order_by("timestamp", "id").values(
                "query",
                "corrected_query",
                "session",
                "result_count",
                "intent",
                "filters",
                "shown_products",
                "request_id",
                "timestamp",
            )
        ],
    }
    for name, collect in privacy.EXPORT_SECTIONS:
        data[name] = collect(shopper)
    audit_record(
        actor=actor,
        action="shopper.export",
        object_type="catalog.shopper",
        object_id=_subject_ref(external_id),
        object_repr=_subject_ref(external_id),
        details={"sections": sorted(k for k in data if k != "exported_at")},
    )
    return data


@transaction.atomic
def shopper_forget(*, external_id: str, actor=None, mode: str | None = None) -> dict[str, int]:
    """Delete a shopper's personal data and events (``mode="delete"``), or keep their events
    under a fresh anonymous shopper with the free text and session ids cleared
    (``"anonymise"``). One transaction; other apps' rows through ``privacy.FORGET_HOOKS``.
    Returns counts per kind of row."""
    mode = mode or settings.SHOPPER_FORGET_MODE
    if mode not in ("delete", "anonymise"):
        raise ValueError(f"SHOPPER_FORGET_MODE must be delete or anonymise, not {mode!r}.")
    shopper = Shopper.objects.select_for_update().get(external_id=external_id)
    replacement = None
    if mode == "anonymise":
        replacement = Shopper.objects.create(external_id=f"anon-{uuid.uuid4().hex[:20]}")
    counts: dict[str, int] = {}
    context = privacy.ForgetContext(shopper=shopper, mode=mode, replacement=replacement)
    for hook in privacy.FORGET_HOOKS:
        for key, value in (hook(context) or {}).items():
            counts[key] = counts.get(key, 0) + value
    if replacement is None:
        # .delete() (not a raw DELETE): rows other apps keep about these events go with them
        counts["events"] = (
            Event.objects.filter(shopper=shopper).delete()[1].get(Event._meta.label, 0)
        )
        counts["searches"] = (
            SearchLog.objects.filter(shopper=shopper).delete()[1].get(SearchLog._meta.label, 0)
        )
    else:
        counts["events"] = Event.objects.filter(shopper=shopper).update(
            shopper=replacement, session="", review=""
        )
        counts["searches"] = SearchLog.objects.filter(shopper=shopper).update(
            shopper=replacement, session=""
        )
    shopper.delete()  # cascades to other apps' rows keyed by the shopper (profiles, ...)
    counts["shoppers"] = 1
    audit_record(
        actor=actor,
        action="shopper.forget",
        object_type="catalog.shopper",
        object_id=_subject_ref(external_id),
        object_repr=_subject_ref(external_id),
        details={"mode": mode, "counts": counts},
    )
    return counts
