"""Query parameters and response shape of ``/api/v1/promotions`` (for the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from recommend.api.serializers import CommonQuery, ProductOut, ServedOut

#: Where a promotion line's text comes from (the schema's PromotionLineSourceEnum)
LINE_SOURCES = ["approved_copy", "product"]


class PromotionsQuery(CommonQuery):
    slot = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        default="",
        help_text="The storefront slot asking (e.g. home_banner): a campaign for one slot serves "
        "only there, one without a slot everywhere.",
    )


class CampaignRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CopyOut(serializers.Serializer):
    title = serializers.CharField()
    line = serializers.CharField(
        help_text="The line approved for the shopper's segment, else a short line built from "
        "the product's own fields."
    )
    source = serializers.ChoiceField(
        choices=LINE_SOURCES,
        help_text="Where the text comes from: approved_copy (a promotion line approved for the "
        "shopper's segment in the copy queue) or product (its fields).",
    )
    segment = serializers.CharField(
        required=False, help_text="The shopper segment the approved line was written for."
    )
    copy_id = serializers.IntegerField(
        required=False, help_text="The approved copy draft (Catalog → Copy drafts)."
    )


class PromotionOut(serializers.Serializer):
    campaign = CampaignRef()
    product = ProductOut()
    copy = CopyOut()
    reason = serializers.CharField(help_text="Why this product for this shopper.")
    personalised = serializers.BooleanField(
        help_text="False when only popularity chose it (unknown shopper or no history)."
    )
    score = serializers.FloatField()


class PromotionsOut(ServedOut):
    promotion = PromotionOut(
        allow_null=True, help_text="Null: show the slot's usual content (see reason)."
    )
    arm = serializers.ChoiceField(
        choices=["treated", "control"],
        allow_null=True,
        help_text="control: the shopper is held out of the campaign to measure its uplift.",
    )
    reason = serializers.ChoiceField(
        choices=["served", "control", "opted_out", "forgotten", "no_campaign", "budget_spent"]
    )
    campaign = CampaignRef(
        required=False, help_text="The campaign a control shopper is held out of."
    )
