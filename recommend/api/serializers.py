"""Query parameters (validated) and response shapes (for the OpenAPI schema) of the serving API.

Views build plain dicts in ``recommend.serving.search`` / ``recommend.serving.recs``; the response serializers
here describe them for drf-spectacular, and a test validates real responses against the
generated schema, so the two cannot drift apart.
"""

from __future__ import annotations

import math

from rest_framework import serializers

from recommend.serving.context import DEFAULT_SIZE, MAX_SIZE
from recommend.serving.recs import EXCLUDE_CHOICES

MAX_EXCLUDE_IDS = 200

# --------------------------------------------------------------------------- query parameters


#: Where a recommendation came from (the ``source`` enum of the schema: settings' ENUM_NAME_OVERRIDES)
RECOMMENDATION_SOURCES = [
    "context",
    "cf",
    "bought_together",
    "complementary",
    "exploration",
    "profile",
    "interests",
    "trending",
    "semantic",
    "popular",
    "catalogue",
]
#: Where an intent or support-category label came from
CLASSIFIER_SOURCES = ["model", "rules", "request"]


class CommonQuery(serializers.Serializer):
    shopper = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        help_text="The shopper's external id; an unknown one gets cold-start results.",
    )
    session = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        default="",
        help_text="The storefront's session id (experiment assignment of anonymous shoppers).",
    )


class SizeQuery(CommonQuery):
    size = serializers.IntegerField(
        required=False,
        default=DEFAULT_SIZE,
        min_value=1,
        max_value=MAX_SIZE,
        help_text=f"Results per page, 1–{MAX_SIZE}.",
    )


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise serializers.ValidationError("A finite number is required.")
    return value


class FilterQuery(serializers.Serializer):
    """Product filters: search and every recommendation endpoint take these (one
    implementation, ``recommend.serving.filters.build_filters``)."""

    category = serializers.CharField(
        required=False,
        max_length=128,
        help_text="A category's external id: matches its whole subtree (unknown: a 400).",
    )
    brand = serializers.CharField(
        required=False, max_length=200, help_text="A brand name (case-insensitive)."
    )
    price_min = serializers.FloatField(
        required=False, min_value=0, validators=[_finite], help_text="Lowest price (inclusive)."
    )
    price_max = serializers.FloatField(
        required=False, min_value=0, validators=[_finite], help_text="Highest price (inclusive)."
    )
    in_stock = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only in stock; false: only out of stock.",
    )

    def validate(self, attrs):
        low, high = attrs.get("price_min"), attrs.get("price_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"price_max": ["price_max must not be below price_min."]}
            )
        return attrs


class SearchQuery(FilterQuery, SizeQuery):
    q = serializers.CharField(
        required=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The query as the shopper typed it (normalised and cut to 256 characters). "
        "A NUL character is a 400; bytes that are not UTF-8 are replaced.",
    )
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1000)
    intent = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Override the detected intent (a storefront with its own intent signal; "
        "tests): one of the intent labels (browse, buy, review, support or the shop's own "
        "TRAINING_INTENT_LABELS). Anything else is a 400.",
    )

    def validate_intent(self, value):
        from recommend.serving.intent import intent_choices

        choices = intent_choices()
        if value not in choices:
            raise serializers.ValidationError(
                f"Unknown intent {value[:40]!r}: one of {', '.join(choices)}."
            )
        return value


class ExcludeIdsField(serializers.CharField):
    """A comma-separated list of product external ids, parsed to a list."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if "\x00" in text:  # (the list would hide it from CharField's NUL validator)
            raise serializers.ValidationError("Null characters are not allowed.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: not an id the store can hold
            text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if len(ids) > MAX_EXCLUDE_IDS:
            raise serializers.ValidationError(
                f"At most {MAX_EXCLUDE_IDS} product ids, got {len(ids)}."
            )
        long = [i for i in ids if len(i) > 128]
        if long:
            raise serializers.ValidationError(
                f"A product id has at most 128 characters: {long[0][:40]!r}… is longer."
            )
        return ids


class RecsFilterQuery(FilterQuery, SizeQuery):
    exclude_ids = ExcludeIdsField(
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        max_length=MAX_EXCLUDE_IDS * 130,
        help_text=f"Product external ids to leave out, comma-separated (at most "
        f"{MAX_EXCLUDE_IDS}; unknown ids are ignored), e.g. what is in the cart.",
    )


class RecommendationsQuery(RecsFilterQuery):
    context_product = serializers.CharField(
        required=False,
        max_length=128,
        help_text="A product the shopper is looking at (external id).",
    )
    exclude = serializers.ChoiceField(
        choices=EXCLUDE_CHOICES,
        required=False,
        default="purchased",
        help_text="purchased: leave out what the shopper bought; seen: anything "
        "they had an event with; none: nothing (exclude_ids are left out in every case).",
    )


class TrendingQuery(RecsFilterQuery):
    pass


class AutocompleteQuery(CommonQuery):
    q = serializers.CharField(
        required=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The prefix typed so far. A NUL character is a 400.",
    )
    size = serializers.IntegerField(
        required=False, default=DEFAULT_SIZE, min_value=1, max_value=MAX_SIZE
    )


# --------------------------------------------------------------------------- responses


class CategoryRef(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class ProductOut(serializers.Serializer):
    id = serializers.CharField(help_text="The product's external id.")
    title = serializers.CharField()
    price = serializers.FloatField()
    currency = serializers.CharField()
    category = CategoryRef(allow_null=True)
    brand = serializers.CharField(allow_null=True)
    image_url = serializers.CharField(allow_blank=True)
    in_stock = serializers.BooleanField()


class RetrieverHit(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1-based rank in that retriever's list.")
    score = serializers.FloatField(
        help_text="The retriever's raw score (lexical: BM25 over the matched candidates; "
        "semantic: cosine; CF score, …)."
    )


class AppliedRuleOut(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["boost", "bury", "pin"])
    detail = serializers.CharField()
    score_before = serializers.FloatField(allow_null=True)
    score_after = serializers.FloatField(allow_null=True)


class RankerOut(serializers.Serializer):
    score = serializers.FloatField()


class IntentMoveOut(serializers.Serializer):
    label = serializers.CharField(help_text="The intent that acted.")
    moved = serializers.ChoiceField(choices=["up", "down"])
    to = serializers.IntegerField(help_text="The item's place among the first 50 after intent.")
    because = serializers.ListField(
        child=serializers.CharField(),
        help_text="e.g. “in stock”, “often bought”, “rated 4.6/5 by 31”, “price within your "
        "usual range”, “more brands and categories first”.",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(help_text="The item's place before intent.")
        return fields


class ReviewSnippetOut(serializers.Serializer):
    text = serializers.CharField()
    rating = serializers.FloatField(allow_null=True)


class ExplanationOut(serializers.Serializer):
    retrievers = serializers.DictField(
        child=RetrieverHit(allow_null=True),
        help_text="Which retrievers found the item: lexical and semantic always appear (null when that "
        "retriever did not find it); recommendations add cf, profile, interests, "
        "bought_together, trending, context.",
    )
    matched_terms = serializers.ListField(child=serializers.CharField())
    personalisation = serializers.CharField(
        allow_null=True, help_text="e.g. “because you viewed …”."
    )
    source = serializers.ChoiceField(
        choices=RECOMMENDATION_SOURCES,
        allow_null=True,
        required=False,
        help_text="Recommendation endpoints only: the source that served the item. A fused item "
        "names the source that contributed most to its score; when the fused list is short, "
        "recommendations fill it along the fallback chain cf → profile → interests → trending "
        "→ popular (all-time popularity) → catalogue (the other active products), and a filled "
        "item names the source it came from.",
    )
    rules = AppliedRuleOut(many=True)
    ranker = RankerOut(allow_null=True)
    intent = IntentMoveOut(
        required=False,
        help_text="Search only, present when the query's intent (or the intent= parameter) "
        "changed the item's place, and why.",
    )


class ResultItem(serializers.Serializer):
    product = ProductOut()
    score = serializers.FloatField()
    explanation = ExplanationOut()
    review_snippets = ReviewSnippetOut(
        many=True,
        required=False,
        help_text="Search with a review intent: the product's most recent reviews.",
    )


class IntentOut(serializers.Serializer):
    label = serializers.CharField(
        allow_null=True, help_text="browse, buy, review, support (or the shop's own labels)."
    )
    score = serializers.FloatField(required=False, help_text="Present when there is a label.")
    source = serializers.ChoiceField(
        choices=CLASSIFIER_SOURCES,
        required=False,
        help_text="model: a trained classifier; rules: the rule-based fallback (no classifier "
        "trained yet); request: the intent= parameter.",
    )
    version = serializers.IntegerField(
        required=False, help_text="The intent model version (rules have one too)."
    )
    reason = serializers.CharField(
        required=False,
        help_text="When label is null: why there is none; for rules: the cue that decided.",
    )


class CategoryFacet(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class BrandFacet(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class PriceFacet(serializers.Serializer):
    min = serializers.FloatField()
    max = serializers.FloatField()
    count = serializers.IntegerField()


class FacetsOut(serializers.Serializer):
    category = CategoryFacet(many=True)
    brand = BrandFacet(many=True)
    price = PriceFacet(many=True)


class ServedOut(serializers.Serializer):
    request_id = serializers.CharField(help_text="Send it back with the shopper's events.")
    variant = serializers.CharField(allow_null=True, help_text="The experiment variant, or null.")
    served_at = serializers.DateTimeField(
        help_text="Server time, or the X-Aisle-Simulated-Time sent."
    )


class AnswersQuery(serializers.Serializer):
    q = serializers.CharField(
        required=True,
        allow_blank=True,
        trim_whitespace=False,
        max_length=1000,
        help_text="The shopper's question (normalised and cut to 256 characters).",
    )
    size = serializers.IntegerField(
        required=False, default=3, min_value=1, max_value=20, help_text="Answers, 1–20."
    )
    summary = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also a generated summary of the answers, with citations (needs "
        "AISLE_GENERATOR_MODEL; waits at most ANSWERS_SUMMARY_TIMEOUT_MS).",
    )
    category = serializers.ChoiceField(
        required=False,
        choices=["returns", "shipping", "payment", "account", "product_question"],
        help_text="Only answers of this support category (a help centre's own section); "
        "default: the detected category boosts its answers.",
    )


class SupportCategoryOut(serializers.Serializer):
    label = serializers.CharField(
        help_text="returns, shipping, payment, account or product_question."
    )
    score = serializers.FloatField(help_text="The classifier's probability, or the rules' score.")
    source = serializers.ChoiceField(
        choices=CLASSIFIER_SOURCES,
        help_text="model: the active support-category classifier; rules: keyword rules (no "
        "classifier active); request: the category= parameter.",
    )
    version = serializers.IntegerField(required=False, help_text="The classifier's version.")
    reason = serializers.CharField(required=False, help_text="Rules: the cue that decided.")


class AnswerSource(serializers.Serializer):
    type = serializers.ChoiceField(choices=["article", "product_question"])
    id = serializers.CharField(help_text="The article's or Q&A pair's external id.")
    title = serializers.CharField(help_text="The article's title, or the question.")
    kind = serializers.CharField(help_text="article, faq, policy or product_qa.")
    url = serializers.CharField(allow_blank=True, help_text="The source's own source field.")
    product = serializers.CharField(
        allow_null=True, help_text="The product's external id of a product Q&A."
    )


class AnswerItem(serializers.Serializer):
    passage = serializers.IntegerField()
    heading = serializers.CharField(help_text="The source's title and section.")
    text = serializers.CharField(help_text="The passage: the answer to show.")
    category = serializers.CharField(help_text="returns, shipping, payment, account, …")
    source = AnswerSource()
    score = serializers.FloatField(help_text="Fused score (reciprocal rank fusion).")
    confidence = serializers.FloatField(
        help_text="0–1, a documented heuristic from the passage's cosine to the question "
        "(recommend.serving.answers), not a calibrated probability."
    )
    matched_by = serializers.ListField(
        child=serializers.CharField(), help_text="lexical and/or semantic."
    )


class AnswerSummaryOut(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "off", "no_passages", "no_citation", "bad_citation", "timeout", "busy"],
        help_text="ok, or why there is no summary: off (no generator configured), no_passages "
        "(never a summary without one), no_citation / bad_citation (the generation cited no "
        "passage it was given: dropped), timeout, busy (a generation is still running).",
    )
    text = serializers.CharField(
        allow_blank=True, help_text="The summary, citing passages as [1], [2] … (answers order)."
    )
    citations = serializers.ListField(
        child=serializers.IntegerField(), help_text="The cited passages' ids, first cited first."
    )
    precomputed = serializers.BooleanField(
        required=False,
        help_text="True: written ahead for this frequent question (precompute_answer_summaries) "
        "from these very answers; no generator ran for this request.",
    )


class AnswersOut(serializers.Serializer):
    query = serializers.CharField(allow_blank=True)
    answers = AnswerItem(many=True)
    support_category = SupportCategoryOut(
        help_text="The question's support category: boosts (detected) or restricts (requested) "
        "the answers."
    )
    summary = AnswerSummaryOut(required=False, help_text="Only with summary=true.")
    request_id = serializers.CharField()
    served_at = serializers.DateTimeField()


class SearchOut(ServedOut):
    query = serializers.CharField(allow_blank=True)
    corrected_query = serializers.CharField(allow_null=True)
    intent = IntentOut()
    total = serializers.IntegerField(
        help_text="Size of the filtered candidate set retrieval found."
    )
    results = ResultItem(many=True)
    facets = FacetsOut()
    answers = AnswerItem(
        many=True,
        required=False,
        help_text="Present when the intent is support: the knowledge base's best answers.",
    )
    support_category = SupportCategoryOut(
        required=False, help_text="With answers: the question's support category."
    )


class ListOut(ServedOut):
    results = ResultItem(many=True)


class Suggestion(serializers.Serializer):
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["query", "product", "category"])
    id = serializers.CharField(
        allow_null=True, help_text="External id of the product or category; null for a query."
    )


class AutocompleteOut(serializers.Serializer):
    suggestions = Suggestion(many=True)


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


class ErrorOut(serializers.Serializer):
    error = ErrorDetail()
