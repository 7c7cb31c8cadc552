"""Writes of the promotions: serve a promotion (pick, hold out, spend the budget, log the serve)
and the campaign lifecycle.

:func:`promotion_serve` answers ``/api/v1/promotions``. A shopper who opted out of
personalised promotions, or who was forgotten, gets none (and nothing about them is read or
stored here). Otherwise the campaign product that fits the shopper best is picked with the
serving path's own evidence (``recommend.promotions.logic.pick``); a shopper held out by the
picked campaign's control hash gets no promotion (the storefront shows its usual slot) and is
logged as control; a treated shopper spends one impression of the budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F

from catalog.copywriting import selectors as copy_selectors
from catalog.selectors import shopper_forgotten
from platform_core.services import audit_record
from recommend import selectors as recommend_selectors
from recommend.insights.selectors.profiles import segment_names_of
from recommend.promotions import selectors
from recommend.promotions.logic.pick import CONTROL, TREATED, arm_of, best_fit, plain_line
from recommend.promotions.models import Campaign, CampaignServe
from recommend.serving import profiles, recs
from recommend.serving.context import ServingContext
from recommend.serving.features import popularity
from recommend.serving.payload import product_payload
from recommend.serving.retrievers import PgVectorIndex, ProductRow, product_rows


def promotion_copy(row: ProductRow, category: str | None, segment: str = "") -> dict[str, str]:
    """The text a promotion shows for this shopper's segment: the line approved last for the
    product and the segment (drafted by ``generate_copy`` with ``promotion_lines`` and approved
    in the copy queue), ``source = "approved_copy"``; else the plain product line built from
    the product's own fields, ``source = "product"``."""
    line = copy_selectors.approved_line(row.id, segment)
    if line is not None:
        return {
            "title": row.title,
            "line": line.text,
            "source": "approved_copy",
            "segment": segment,
            "copy_id": line.pk,
        }
    return {
        "title": row.title,
        "line": plain_line(
            title=row.title,
            brand=row.brand,
            category=category,
            price=row.price,
            currency=row.currency,
        ),
        "source": "product",
    }


def _signals(ctx: ServingContext, candidates: list[int]) -> dict[str, dict[int, float]]:
    """The serving path's evidence about the shopper, restricted to ``candidates``."""
    out: dict[str, dict[int, float]] = {"popular": popularity(candidates, ctx.now)}
    if ctx.shopper is None:
        return out
    with ctx.stage("profile"):
        state = profiles.shopper_profile(ctx)
    if state is None or not state.event_count:
        return out
    with ctx.stage("cf"):
        out["cf"] = recs.cf_scores(ctx, candidates)
    rows = product_rows(candidates)
    out["interests"] = {
        pk: state.interests.get(row.category_id, 0.0)
        for pk, row in rows.items()
        if row.category_id is not None
    }
    retriever = ctx.models.retriever
    if state.vector is not None and retriever is not None:
        with ctx.stage("semantic"):
            index = PgVectorIndex(retriever.id, retriever.dimension or len(state.vector))
            vectors = index.vectors(candidates)
        profile = np.asarray(state.vector, dtype=np.float32)
        norm = float(np.linalg.norm(profile)) or 1.0
        out["profile"] = {
            pk: float(np.dot(profile, v) / (norm * (float(np.linalg.norm(v)) or 1.0)))
            for pk, v in vectors.items()
        }
    return out


def _spend_impression(campaign: Campaign) -> bool:
    """Take one impression of the budget (atomic: concurrent requests never overspend)."""
    return bool(
        Campaign.objects.filter(pk=campaign.pk, impressions__lt=F("impression_budget")).update(
            impressions=F("impressions") + 1
        )
    )


def _none(reason: str, **extra: Any) -> dict[str, Any]:
    return {"promotion": None, "arm": None, "reason": reason, **extra}


def promotion_serve(ctx: ServingContext, slot: str = "") -> dict[str, Any]:
    """The promotion for the request's shopper on ``slot`` (see the module docstring). The
    body carries ``promotion`` (or None), ``arm``, ``reason`` and ``results`` (what the
    served-request log records as shown: the promoted product, or nothing)."""
    unit = ctx.shopper_external_id or ""
    if ctx.shopper is not None and selectors.shopper_opted_out(ctx.shopper.id):
        return {**_none("opted_out"), "results": []}
    if ctx.shopper is None and unit and shopper_forgotten(unit):
        return {**_none("forgotten"), "results": []}
    owner: dict[int, Campaign] = {}
    for campaign in selectors.running_campaigns(ctx.now, slot):
        for pk in selectors.campaign_product_ids(campaign):
            owner.setdefault(pk, campaign)
    if not owner:
        return {**_none("no_campaign"), "results": []}
    candidates = sorted(owner)
    signals = _signals(ctx, candidates)
    weights = {
        "cf": ctx.strategy.cf_weight,
        "profile": ctx.strategy.profile_weight,
        "interests": ctx.strategy.interests_weight,
    }
    fit = best_fit(candidates, weights=weights, **signals)
    if fit is None:
        return {**_none("no_campaign"), "results": []}
    campaign = owner[fit.product_id]
    arm = arm_of(campaign.salt, unit, campaign.control_percent) if unit else TREATED
    if arm == CONTROL:
        _log(ctx, campaign, unit, CONTROL, None, slot)
        return {
            **_none("control", campaign={"id": campaign.pk, "name": campaign.name}),
            "arm": CONTROL,
            "results": [],
        }
    if not _spend_impression(campaign):
        return {**_none("budget_spent"), "results": []}
    row = product_rows([fit.product_id])[fit.product_id]
    tree = recommend_selectors.category_tree()
    category = tree.by_id.get(row.category_id) if row.category_id else None
    segment = (
        segment_names_of([ctx.shopper.id]).get(ctx.shopper.id, "")
        if ctx.shopper is not None
        else ""
    )
    product = product_payload(row, tree)
    _log(ctx, campaign, unit, TREATED, fit.product_id, slot)
    item = {
        "product": product,
        "score": round(fit.score, 6),
        "explanation": {"source": "promotion", "reason": fit.reason},
    }
    return {
        "promotion": {
            "campaign": {"id": campaign.pk, "name": campaign.name},
            "product": product,
            "copy": promotion_copy(row, category.name if category else None, segment),
            "reason": fit.reason,
            "personalised": fit.personalised,
            "score": round(fit.score, 6),
        },
        "arm": TREATED,
        "reason": "served",
        "results": [item],
    }


def _log(ctx: ServingContext, campaign, unit: str, arm: str, product_id, slot: str) -> None:
    CampaignServe.objects.create(
        campaign=campaign,
        shopper_external_id=unit[:128],
        arm=arm,
        product_id=product_id,
        request_id=ctx.request_id,
        slot=slot[:64],
        served_at=ctx.now,
    )


# --------------------------------------------------------------------------- lifecycle


@transaction.atomic
def campaign_set_status(*, campaign: Campaign, status: str, actor=None) -> Campaign:
    """Start, pause or end a campaign (audited)."""
    if status not in Campaign.Status.values:
        raise ValueError(f"unknown campaign status {status!r}")
    before = campaign.status
    campaign.status = status
    campaign.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=f"campaign.{status}",
        object_type="promotions.campaign",
        object_id=str(campaign.pk),
        object_repr=campaign.name,
        details={"from": before, "to": status},
    )
    return campaign
