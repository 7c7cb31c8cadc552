"""Reads of the promotions: the campaigns that may serve now, their products, and a campaign's
figures for its admin page (bounded queries: the campaign's own serves and its shoppers' events
within its window, never a scan of the events table)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import F, Q

from catalog.models import Product, Shopper
from recommend import selectors as recommend_selectors
from recommend.analytics.attribution_sql import WINDOW_SQL, attributed_events_sql
from recommend.experiments.logic.stats import Comparison, two_proportion_test
from recommend.promotions.models import Arm, Campaign

#: a category campaign considers at most this many of its products per request
MAX_CANDIDATES = 500


def running_campaigns(now: datetime, slot: str = "") -> list[Campaign]:
    """Running campaigns whose window holds ``now``, with impressions left, for ``slot``."""
    qs = Campaign.objects.filter(
        status=Campaign.Status.RUNNING,
        starts_at__lte=now,
        ends_at__gt=now,
        impressions__lt=F("impression_budget"),
    )
    if slot:
        qs = qs.filter(Q(slot="") | Q(slot=slot))
    return list(qs.order_by("starts_at", "id"))


def campaign_product_ids(campaign: Campaign) -> list[int]:
    """The campaign's active products: its chosen ones, or its category subtree's."""
    chosen = list(campaign.products.filter(active=True).order_by("id").values_list("id", flat=True))
    if chosen or campaign.category_id is None:
        return chosen[:MAX_CANDIDATES]
    tree = recommend_selectors.category_tree()
    info = tree.by_id.get(campaign.category_id)
    if info is None:
        return []
    ids = tree.subtree_ids(info.external_id) or []
    return list(
        Product.objects.filter(active=True, category_id__in=ids)
        .order_by("id")
        .values_list("id", flat=True)[:MAX_CANDIDATES]
    )


def copy_product_ids(now: datetime) -> list[int]:
    """The products of every campaign that has not ended (draft, running or paused, its window
    not past): the products ``generate_copy`` drafts promotion lines for."""
    ids: dict[int, None] = {}
    campaigns = Campaign.objects.exclude(status=Campaign.Status.ENDED).filter(ends_at__gt=now)
    for campaign in campaigns.order_by("starts_at", "id"):
        ids.update(dict.fromkeys(campaign_product_ids(campaign)))
    return list(ids)


def shopper_opted_out(shopper_id: int) -> bool:
    return Shopper.objects.filter(pk=shopper_id, promotions_opt_out=True).exists()


# --------------------------------------------------------------------------- campaign page


@dataclass
class ArmFigures:
    arm: str
    shoppers: int = 0  # measured units (known shoppers) in the arm
    serves: int = 0
    impressions: int = 0
    clicks: int = 0
    converted: int = 0  # shoppers who bought a campaign product after their first serve

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else math.nan

    @property
    def conversion(self) -> float:
        return self.converted / self.shoppers if self.shoppers else math.nan


@dataclass
class CampaignReport:
    campaign: Campaign
    arms: dict[str, ArmFigures] = field(default_factory=dict)
    purchases: int = 0  # purchases attributed to the campaign's impressions
    uplift: Comparison | None = None  # treated (b) vs control (a), conversion per shopper
    product_count: int = 0


_ARM_SQL = """
SELECT arm, count(*), count(product_id)
  FROM promotions_campaignserve WHERE campaign_id = %s GROUP BY arm
"""

# the campaign's known shoppers: first serve per shopper and arm (an arm never changes)
_UNITS_CTE = """
units AS (
  SELECT cs.arm, s.id AS shopper_id, min(cs.served_at) AS first_at
    FROM promotions_campaignserve cs JOIN catalog_shopper s ON s.external_id = cs.shopper_external_id
   WHERE cs.campaign_id = %(campaign)s AND cs.shopper_external_id <> ''
   GROUP BY cs.arm, s.id)
"""

_CONVERSION_SQL = f"""
WITH {_UNITS_CTE}
SELECT u.arm, count(*), count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM catalog_event e
          WHERE e.shopper_id = u.shopper_id AND e.type = 'purchase'
            AND e.timestamp >= u.first_at AND e.timestamp < %(end)s
            AND e.product_id = ANY(%(products)s)))
  FROM units u GROUP BY u.arm
"""

_ENGAGEMENT_SQL = f"""
WITH {_UNITS_CTE},
ev AS (
  SELECT e.* FROM units u JOIN catalog_event e ON e.shopper_id = u.shopper_id
   WHERE u.arm = 'treated' AND e.type IN ('click', 'purchase')
     AND e.timestamp >= u.first_at AND e.timestamp < %(end)s + {WINDOW_SQL})
SELECT a.type, count(*) FROM ({attributed_events_sql(events="ev", recorded=False)}) a
 WHERE a.request_id IN (SELECT request_id FROM promotions_campaignserve
                         WHERE campaign_id = %(campaign)s AND product_id IS NOT NULL)
 GROUP BY a.type
"""


def campaign_report(campaign: Campaign, alpha: float = 0.05) -> CampaignReport:
    """Impressions, CTR, conversions and the uplift of treated vs held-out control shoppers.

    Conversion: a shopper who bought one of the campaign's products between their first serve
    and the campaign's end, per arm; the uplift is the two-proportion test of the experiments
    (control is "a", treated "b"). Clicks and purchases count when the analytics' one rule
    attributes them to one of the campaign's served promotions."""
    report = CampaignReport(
        campaign=campaign, arms={arm: ArmFigures(arm) for arm in (Arm.TREATED, Arm.CONTROL)}
    )
    products = campaign_product_ids(campaign)
    report.product_count = len(products)
    params = {"campaign": campaign.pk, "end": campaign.ends_at, "products": products}
    with connection.cursor() as cursor:
        cursor.execute(_ARM_SQL, [campaign.pk])
        for arm, serves, impressions in cursor.fetchall():
            figures = report.arms.setdefault(arm, ArmFigures(arm))
            figures.serves, figures.impressions = serves, impressions
        cursor.execute(_CONVERSION_SQL, params)
        for arm, shoppers, converted in cursor.fetchall():
            figures = report.arms.setdefault(arm, ArmFigures(arm))
            figures.shoppers, figures.converted = shoppers, converted
        cursor.execute(_ENGAGEMENT_SQL, params)
        for kind, count in cursor.fetchall():
            if kind == "click":
                report.arms[Arm.TREATED].clicks = count
            else:
                report.purchases = count
    treated, control = report.arms[Arm.TREATED], report.arms[Arm.CONTROL]
    if treated.shoppers and control.shoppers:
        report.uplift = two_proportion_test(
            control.converted, control.shoppers, treated.converted, treated.shoppers, alpha
        )
    return report
