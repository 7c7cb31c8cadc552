"""Serving configuration: strategies (how results are made per surface) and merchandising
rules (synonyms, pinned results, boosts and buries).

Rows here are read on every request through process caches keyed by a "config generation"
that every write bumps (``recommend.services.config_changed``), so an admin edit takes effect
on the next request without a query per request.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Surface(models.TextChoices):
    SEARCH = "search", "search"
    RECOMMENDATIONS = "recommendations", "recommendations"
    SIMILAR = "similar", "similar items"


class Diversity(models.TextChoices):
    NONE = "none", "none"
    CATEGORY_CAP = "category_cap", "cap the share of one category"
    MMR = "mmr", "maximal marginal relevance"


class RankerObjective(models.TextChoices):
    """How a two-headed ranker's heads combine at serving (``training.ml.ranker_heads``)."""

    CLICK = "click", "clicks (click head only)"
    PURCHASE = "purchase", "purchases (pCTR × pCVR)"
    BLEND = "blend", "blend (pCTR × pCVR^w)"


class WeightsOrigin(models.TextChoices):
    DEFAULT = "default", "defaults (never tuned)"
    JOB = "job", "learned by a tuning job"
    OPERATOR = "operator", "set by an operator"


#: The fusion settings a tuning job learns, per surface: ``{name: Strategy field}`` —
#: ``tune_search`` for search, ``tune_recommendations`` for recommendations. An operator's edit
#: of one of them marks the strategy's weights as the operator's
#: (``recommend.services.strategy_save``); ``strategy_set_learned_weights`` writes them.
TUNED_FIELDS: dict[str, dict[str, str]] = {
    "search": {"lexical": "lexical_weight", "semantic": "semantic_weight", "rrf_k": "rrf_k"},
    "recommendations": {
        "cf": "cf_weight",
        "profile": "profile_weight",
        "interests": "interests_weight",
        "trending": "trending_weight",
        "bought_together": "bought_together_weight",
    },
}
#: The recommendation source weights ``tune_recommendations`` learns (field per source).
SOURCE_WEIGHT_FIELDS = TUNED_FIELDS["recommendations"]


def _version_choices(task: str) -> dict:
    return {"task": task}


class Strategy(models.Model):
    """A named, versioned configuration of how one surface makes its results.

    Each model slot is either empty (follow the task's *active* version, i.e. promotion) or a
    pinned version. ``version`` is bumped by every save through the services, and is part of
    every result cache key. Exactly one strategy per surface is the default; a running A/B
    experiment (``recommend.experiments``) serves another strategy to a variant's shoppers.
    """

    name = models.CharField(max_length=120, unique=True)
    surface = models.CharField(max_length=20, choices=Surface.choices, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(
        default=False, help_text="Served when no experiment variant applies."
    )

    # Model slots: null = follow the active version of the task (the field names are read by
    # training.selectors.served_retriever_versions(), which keeps served versions' vectors).
    retriever_version = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=_version_choices("retriever"),
        help_text="Empty: follow the active retriever.",
    )
    ranker_version = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=_version_choices("ranker"),
        help_text="Empty: follow the active ranker.",
    )
    cf_version = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=_version_choices("cf"),
        help_text="Empty: follow the active CF model.",
    )
    intent_version = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=_version_choices("intent"),
        help_text="Empty: follow the active intent classifier.",
    )
    use_ranker = models.BooleanField(default=True, help_text="Off: results keep the fusion order.")
    # How a two-headed ranker's click and purchase heads combine (training.ml.ranker_heads):
    # score = pCTR * pCVR^w. A single-head ranker has one score and ignores both settings.
    ranker_objective = models.CharField(
        max_length=10,
        choices=RankerObjective.choices,
        default=RankerObjective.PURCHASE,
        help_text="What a two-headed ranker orders by: clicks (pCTR), purchases (pCTR × pCVR) or "
        "a blend (pCTR × pCVR^w). A ranker with one head orders by clicks whatever this says.",
    )
    ranker_purchase_weight = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="The blend's w: 0 orders by clicks, 1 by purchases (used by 'blend' only).",
    )
    use_intent = models.BooleanField(default=True, help_text="Off: no intent classification.")
    intent_acts = models.BooleanField(
        default=True,
        help_text="On: the query's intent reorders results as its intent behaviour says (buy: "
        "in stock, bought often, price match; review: rated; browse: varied). Off: the intent "
        "is only returned and logged.",
    )

    # Fusion (reciprocal rank fusion weights per source).
    lexical_weight = models.FloatField(default=1.0, validators=[MinValueValidator(0)])
    semantic_weight = models.FloatField(default=1.0, validators=[MinValueValidator(0)])
    rrf_k = models.PositiveIntegerField(
        default=60, help_text="RRF constant: score = weight / (k + rank)."
    )
    image_weight = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0)],
        help_text="Weight of the text-to-image retriever: the query's vector against the product "
        "pictures' vectors of the active image encoder, when that encoder was trained in the "
        "same text space as the retriever serving the query (0: off).",
    )
    semantic_min_score = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(-1), MaxValueValidator(1)],
        help_text="Semantic hits below this cosine similarity are dropped (the encoder always finds "
        "*something*; this keeps nonsense queries at zero results).",
    )
    cf_weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0)],
        help_text="Weight of collaborative-filtering candidates (0: off).",
    )
    profile_weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0)],
        help_text="Weight of the shopper-profile-embedding candidates.",
    )
    trending_weight = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0)],
        help_text="Weight of trending candidates in recommendations.",
    )
    interests_weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0)],
        help_text="Weight of 'popular in the shopper's favourite categories' candidates in "
        "recommendations (0: off).",
    )
    bought_together_weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0)],
        help_text="Weight of 'often bought with what the shopper bought' candidates in "
        "recommendations (0: off).",
    )

    # New-product exposure (recommendations): a share of slots for barely-shown products.
    exploration_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0), MaxValueValidator(0.5)],
        help_text="Share of a recommendations list given to products with few impressions, "
        "picked by Thompson sampling on their click-through (0: off; at most 0.5). The top "
        "two places always stay earned.",
    )
    exploration_max_impressions = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(1)],
        help_text="A product shown at least this many times in the last 30 days has left the "
        "exploration pool and competes in the normal ranking.",
    )

    # Who set the fusion settings a tuning job learns (TUNED_FIELDS of the strategy's surface):
    # the defaults, a job (tune_search for search), or an operator since.
    weights_set_by = models.CharField(
        max_length=16,
        choices=WeightsOrigin.choices,
        default=WeightsOrigin.DEFAULT,
        help_text="Who set the fusion weights last. A tuning job leaves weights an operator set "
        "alone unless launched with overwrite_operator_weights=true.",
    )
    weights_job = models.ForeignKey(
        "training.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The tuning job that learned the weights last.",
    )
    weights_tuned_at = models.DateTimeField(
        null=True, blank=True, help_text="When a tuning job last set the weights."
    )
    weights_operator_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operator last edited the weights."
    )
    weights_tuning = models.JSONField(
        default=dict,
        blank=True,
        help_text="The last tuning's record: validation metric with the learned weights and "
        "with the weights before, the weights before, and the held-out figures.",
    )

    # Diversity and rules.
    diversity = models.CharField(
        max_length=16, choices=Diversity.choices, default=Diversity.CATEGORY_CAP
    )
    max_category_share = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.01), MaxValueValidator(1)],
        help_text="category_cap: at most this share of the results from one category.",
    )
    mmr_lambda = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="mmr: 1 = relevance only, 0 = diversity only.",
    )
    hide_out_of_stock = models.BooleanField(default=True)
    boost_rules = models.ManyToManyField(
        "BoostRule",
        blank=True,
        related_name="strategies",
        help_text="Rules for this strategy only; global rules always apply.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["surface", "name"]
        verbose_name_plural = "strategies"
        constraints = [
            models.UniqueConstraint(
                fields=["surface"],
                condition=Q(is_default=True),
                name="recommend_one_default_strategy_per_surface",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.surface})"

    def clean(self) -> None:
        for slot, task in (
            ("retriever_version", "retriever"),
            ("ranker_version", "ranker"),
            ("cf_version", "cf"),
            ("intent_version", "intent"),
        ):
            version = getattr(self, slot)
            if version is not None and version.task != task:
                raise ValidationError(
                    {slot: f"Pick a {task} version (this one is a {version.task})."}
                )


class IntentBehaviour(models.Model):
    """What one intent does to one strategy's results (``recommend.engine.intent_actions``).

    A label with no row behaves as ``intent_actions.DEFAULTS`` says; the recommend bootstrap
    writes those defaults as rows for every search strategy, so operators see and edit them.
    """

    strategy = models.ForeignKey(
        Strategy, on_delete=models.CASCADE, related_name="intent_behaviours"
    )
    intent = models.CharField(
        max_length=32, help_text="An intent label: browse, buy, review, support or your own."
    )
    in_stock_weight = models.FloatField(
        default=0.0, validators=[MinValueValidator(0)], help_text="Favour products in stock."
    )
    purchase_weight = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0)],
        help_text="Favour products often bought after being viewed (purchase propensity).",
    )
    price_match_weight = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0)],
        help_text="Favour prices within the shopper's usual band for the category (the query's "
        "band for unknown shoppers).",
    )
    rating_weight = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0)],
        help_text="Favour products with many ratings and a high review score.",
    )
    strength = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="How far the intent may move results: 0 never, 1 the intent signals alone "
        "decide the order of the first 50.",
    )
    diversify = models.BooleanField(
        default=False, help_text="Spread the first results across brands and categories."
    )
    review_snippets = models.BooleanField(
        default=False, help_text="Include recent review snippets with each result."
    )
    answers_first = models.BooleanField(
        default=False, help_text="Support questions: the answers block comes before products."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "intent"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "intent"], name="recommend_intent_behaviour_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.strategy}: {self.intent}"

    def as_behaviour(self):
        from recommend.engine.intent_actions import Behaviour

        return Behaviour(
            in_stock=self.in_stock_weight,
            purchase_propensity=self.purchase_weight,
            price_match=self.price_match_weight,
            rating=self.rating_weight,
            strength=self.strength,
            diversify=self.diversify,
            review_snippets=self.review_snippets,
            answers_first=self.answers_first,
        )

    @classmethod
    def default_fields(cls, behaviour) -> dict:
        """The row fields of an engine ``Behaviour`` (the defaults the bootstrap writes)."""
        return {
            "in_stock_weight": behaviour.in_stock,
            "purchase_weight": behaviour.purchase_propensity,
            "price_match_weight": behaviour.price_match,
            "rating_weight": behaviour.rating,
            "strength": behaviour.strength,
            "diversify": behaviour.diversify,
            "review_snippets": behaviour.review_snippets,
            "answers_first": behaviour.answers_first,
        }


class SynonymSet(models.Model):
    """Terms searched together: equivalent ("tv, television") or one-way ("hoody => hoodie")."""

    class Kind(models.TextChoices):
        EQUIVALENT = "equivalent", "equivalent (each term also searches the others)"
        ONE_WAY = "one_way", "one-way (sources also search the terms, never the reverse)"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EQUIVALENT)
    sources = models.CharField(
        max_length=500,
        blank=True,
        help_text="One-way only: comma-separated terms that expand, e.g. 'hoody, hoodies'.",
    )
    terms = models.CharField(
        max_length=500, help_text="Comma-separated terms, e.g. 'tv, television, telly'."
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.as_rule()

    def as_rule(self) -> str:
        """The Solr-style line the engine parses: ``a, b`` or ``a => b``."""
        if self.kind == self.Kind.ONE_WAY:
            return f"{self.sources} => {self.terms}"
        return self.terms

    def clean(self) -> None:
        from recommend.engine.synonyms import SynonymSet as EngineSet

        if self.kind == self.Kind.ONE_WAY and not self.sources.strip():
            raise ValidationError({"sources": "A one-way set needs source terms."})
        if self.kind == self.Kind.EQUIVALENT and self.sources.strip():
            raise ValidationError(
                {"sources": "Only one-way sets have sources; list every term under terms."}
            )
        if "=>" in self.terms or "=>" in self.sources:
            raise ValidationError("Choose the kind instead of writing '=>'.")
        try:
            EngineSet.parse(self.as_rule())
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class PinnedResult(models.Model):
    """Show ``product`` at ``position`` (1-based) for one query, whatever the ranking says."""

    query = models.CharField(
        max_length=200, help_text="Matched after normalisation (case, spaces, accents)."
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["query", "position"]
        constraints = [
            models.UniqueConstraint(fields=["query", "product"], name="recommend_pin_unique"),
        ]

    def __str__(self) -> str:
        return f"“{self.query}” → {self.product_id} at {self.position}"

    def save(self, *args, **kwargs):
        from recommend.engine.text import normalise

        self.query = normalise(self.query, max_len=200)
        super().save(*args, **kwargs)


class BoostRule(models.Model):
    """Boost (factor > 1) or bury (factor < 1) a category subtree or a brand.

    A rule attached to no strategy is global (every strategy of its surfaces applies it); one
    listed on strategies applies only there. ``query`` limits it to one (normalised) query.
    """

    class Field(models.TextChoices):
        CATEGORY = "category", "category (with its subtree)"
        BRAND = "brand", "brand"

    name = models.CharField(max_length=120)
    field = models.CharField(max_length=16, choices=Field.choices)
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    brand = models.ForeignKey(
        "catalog.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    factor = models.FloatField(
        default=1.5,
        validators=[MinValueValidator(0)],
        help_text="Score multiplier: 2 doubles, 0.5 halves, 0 sinks to the bottom.",
    )
    query = models.CharField(
        max_length=200, blank=True, help_text="Empty: every query and every surface."
    )
    surfaces = models.CharField(
        max_length=60,
        default="search,recommendations,similar",
        help_text="Comma-separated surfaces the rule applies to.",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(field="category", category__isnull=False, brand__isnull=True)
                    | Q(field="brand", brand__isnull=False, category__isnull=True)
                ),
                name="recommend_boost_target_matches_field",
            ),
        ]

    def __str__(self) -> str:
        kind = "boost" if self.factor >= 1 else "bury"
        return f"{self.name} ({kind} ×{self.factor:g})"

    def save(self, *args, **kwargs):
        from recommend.engine.text import normalise

        self.query = normalise(self.query, max_len=200)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.field == self.Field.CATEGORY and (
            self.category_id is None or self.brand_id is not None
        ):
            raise ValidationError({"category": "A category rule names a category (and no brand)."})
        if self.field == self.Field.BRAND and (
            self.brand_id is None or self.category_id is not None
        ):
            raise ValidationError({"brand": "A brand rule names a brand (and no category)."})
        unknown = {s.strip() for s in self.surfaces.split(",") if s.strip()} - set(Surface.values)
        if unknown:
            raise ValidationError(
                {"surfaces": f"Unknown surface(s): {', '.join(sorted(unknown))}."}
            )
