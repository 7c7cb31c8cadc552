"""Admin for strategies (with an audited "make default" action) and merchandising rules:
synonym sets, pinned results, boost/bury rules. Strategy saves go through
``recommend.services.strategy_save`` (version bump, audit, cache invalidation)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Subquery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from platform_core.services import audit_record
from recommend import services
from recommend.models import (
    BoostRule,
    IntentBehaviour,
    PinnedResult,
    Strategy,
    Surface,
    SynonymSet,
)
from training.models import ModelVersion

# The model slots of a strategy and the task each follows when it pins no version.
SLOTS = ("retriever", "ranker", "cf", "intent")
NO_MODEL_YET = "none yet — train one"


class StrategyForm(forms.ModelForm):
    """Field names written out for people (labels here, not verbose names: no migration), and
    each model slot's help says whether there is an active version to follow."""

    class Meta:
        model = Strategy
        # the admin's fieldsets decide the fields shown; these are the ones relabelled
        fields = (
            "retriever_version",
            "ranker_version",
            "cf_version",
            "intent_version",
            "use_ranker",
            "ranker_objective",
            "ranker_purchase_weight",
            "use_intent",
            "lexical_weight",
            "semantic_weight",
            "image_weight",
            "rrf_k",
            "semantic_min_score",
            "cf_weight",
            "profile_weight",
            "trending_weight",
            "diversity",
            "max_category_share",
            "mmr_lambda",
            "hide_out_of_stock",
            "boost_rules",
            "interests_weight",
            "bought_together_weight",
            "exploration_share",
            "exploration_max_impressions",
        )
        labels = {
            "retriever_version": "Retriever version",
            "ranker_version": "Ranker version",
            "cf_version": "Collaborative-filtering version",
            "intent_version": "Intent classifier version",
            "use_ranker": "Use the ranker",
            "ranker_objective": "Ranker orders by",
            "ranker_purchase_weight": "Blend: weight of purchases (w)",
            "use_intent": "Use the intent classifier",
            "intent_acts": "Intent changes results",
            "lexical_weight": "Lexical (full-text) weight",
            "semantic_weight": "Semantic (embedding) weight",
            "image_weight": "Text-to-image weight",
            "rrf_k": "Reciprocal rank fusion k",
            "semantic_min_score": "Minimum semantic similarity",
            "cf_weight": "CF weight",
            "profile_weight": "Shopper-profile weight",
            "trending_weight": "Trending weight",
            "interests_weight": "Favourite-categories weight",
            "bought_together_weight": "Bought-together weight",
            "diversity": "Diversity method",
            "max_category_share": "Largest share of one category",
            "mmr_lambda": "MMR λ (relevance vs diversity)",
            "hide_out_of_stock": "Hide out-of-stock products",
            "exploration_share": "Exploration share of the list",
            "exploration_max_impressions": "Leaves exploration after this many impressions",
            "boost_rules": "Boost / bury rules of this strategy",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        active = set(
            ModelVersion.objects.filter(is_active=True, task__in=SLOTS).values_list(
                "task", flat=True
            )
        )
        for slot in SLOTS:
            field = self.fields.get(f"{slot}_version")
            if field is not None and slot not in active:
                field.help_text = f"Empty: follow the active {slot} model — {NO_MODEL_YET}."


INTENT_FIELDS = (
    "intent",
    "in_stock_weight",
    "purchase_weight",
    "price_match_weight",
    "rating_weight",
    "strength",
    "diversify",
    "review_snippets",
    "answers_first",
)


class IntentBehaviourInline(admin.TabularInline):
    """What each intent does to this strategy's search results (docs/intent.md)."""

    model = IntentBehaviour
    fields = INTENT_FIELDS
    extra = 0
    verbose_name = "intent behaviour"
    verbose_name_plural = (
        "Intent behaviours (buy: in stock, bought often, price match; review: rated, snippets; "
        "browse: varied; support: answers first)"
    )


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    form = StrategyForm
    list_display = (
        "name",
        "surface",
        "version",
        "is_default",
        "slots",
        "fusion",
        "diversity",
        "hide_out_of_stock",
        "updated_at",
    )
    list_filter = (
        "surface",
        "is_default",
        "diversity",
        "use_ranker",
        "ranker_objective",
        "hide_out_of_stock",
        "weights_set_by",
    )
    search_fields = ("name", "description")
    list_select_related = ("retriever_version", "ranker_version", "cf_version", "intent_version")
    readonly_fields = (
        "version",
        "is_default",
        "created_at",
        "updated_at",
        "weights_provenance",
        "learned_weights",
        "tuning_record",
    )
    filter_horizontal = ("boost_rules",)
    inlines = [IntentBehaviourInline]

    def get_inlines(self, request, obj):
        # intent acts on search only: a recommendations strategy has no query to classify
        if obj is not None and obj.surface != Surface.SEARCH:
            return []
        return super().get_inlines(request, obj)

    actions = ["make_default"]
    fieldsets = (
        (None, {"fields": ("name", "surface", "description", "version", "is_default")}),
        (
            "Models (empty: follow the active version)",
            {
                "fields": (
                    "retriever_version",
                    "ranker_version",
                    "cf_version",
                    "intent_version",
                    "use_ranker",
                    "ranker_objective",
                    "ranker_purchase_weight",
                    "use_intent",
                    "intent_acts",
                )
            },
        ),
        (
            "Fusion",
            {
                "fields": (
                    "lexical_weight",
                    "semantic_weight",
                    "image_weight",
                    "rrf_k",
                    "semantic_min_score",
                    "cf_weight",
                    "profile_weight",
                    "trending_weight",
                )
            },
        ),
        (
            "Where the fusion weights come from",
            {
                "description": "A tuning job (tune_search for a search strategy, "
                "tune_recommendations for a recommendations strategy) chooses the weights on "
                "held-out data. Editing any of them, here or under Fusion, makes them yours: a "
                "later tuning job keeps them unless launched with "
                "overwrite_operator_weights=true.",
                "fields": (
                    "weights_provenance",
                    "learned_weights",
                    "tuning_record",
                    "interests_weight",
                    "bought_together_weight",
                ),
            },
        ),
        (
            "Diversity and rules",
            {
                "fields": (
                    "diversity",
                    "max_category_share",
                    "mmr_lambda",
                    "hide_out_of_stock",
                    "boost_rules",
                )
            },
        ),
        (
            "New-product exposure (recommendations)",
            {
                "description": "Off by default. A share of each recommendations list goes to "
                "products few shoppers have seen, picked by Thompson sampling on the clicks "
                "they get, so new products can earn a place (docs/serving.md, Exploration).",
                "fields": ("exploration_share", "exploration_max_impressions"),
            },
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        # each slot's active version id, for the "Models" column (one subquery per slot)
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"active_{slot}_id": Subquery(
                        ModelVersion.objects.filter(task=slot, is_active=True).values("pk")[:1]
                    )
                    for slot in SLOTS
                }
            )
        )

    @admin.display(description="Models")
    def slots(self, obj: Strategy) -> str:
        """Each slot says the truth: its pinned version, the active one it follows, off, or
        that there is none yet."""
        parts = []
        for slot in SLOTS:
            if (slot == "ranker" and not obj.use_ranker) or (
                slot == "intent" and not obj.use_intent
            ):
                parts.append(f"{slot}: off")
                continue
            pinned = getattr(obj, f"{slot}_version_id")
            active = getattr(obj, f"active_{slot}_id", None)
            if pinned:
                parts.append(f"{slot}: #{pinned}")
            elif active:
                parts.append(f"{slot}: active #{active}")
            else:
                parts.append(f"{slot}: {NO_MODEL_YET}")
        return ", ".join(parts)

    @admin.display(description="Fusion (lex/sem/cf, k)")
    def fusion(self, obj: Strategy) -> str:
        return (
            f"{obj.lexical_weight:g} / {obj.semantic_weight:g} / {obj.cf_weight:g}, k {obj.rrf_k} "
            f"({obj.get_weights_set_by_display()})"
        )

    @admin.display(description="Last tuning")
    def tuning_record(self, obj: Strategy) -> str:
        record = obj.weights_tuning or {}
        if not record:
            return "never tuned"
        metric = record.get("metric", "metric")
        rows = [
            (part, *(record.get(part, {}).get(w, "–") for w in ("learned", "before", "defaults")))
            for part in ("valid", "test")
            if part in record
        ]
        weights = ", ".join(
            f"{name} {value:g}" for name, value in record.get("weights", {}).items()
        )
        return format_html(
            "<p>{} on {}: chose {}</p><table><tr><th></th><th>learned</th><th>before</th>"
            "<th>defaults</th></tr>{}</table>",
            metric,
            record.get("source", "validation data"),
            weights,
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                rows,
            ),
        )

    @admin.display(description="Set by")
    def weights_provenance(self, obj: Strategy) -> str:
        parts = [obj.get_weights_set_by_display()]
        if obj.weights_job_id:
            url = reverse("admin:training_job_change", args=[obj.weights_job_id])
            parts.append(format_html('job <a href="{}">#{}</a>', url, obj.weights_job_id))
        if obj.weights_tuned_at:
            parts.append(f"tuned {obj.weights_tuned_at:%Y-%m-%d %H:%M}")
        if obj.weights_operator_at:
            parts.append(f"edited by an operator {obj.weights_operator_at:%Y-%m-%d %H:%M}")
        valid = (obj.weights_tuning or {}).get("valid")
        if valid:
            metric = obj.weights_tuning.get("metric", "NDCG")
            parts.append(
                f"validation {metric} {valid['learned']:.4f} with the learned weights vs "
                f"{valid['before']:.4f} with the weights before"
            )
        return format_html_join("; ", "{}", ((p,) for p in parts))

    @admin.display(description="Learned weights (before)")
    def learned_weights(self, obj: Strategy) -> str:
        tuning = obj.weights_tuning or {}
        learned, before = tuning.get("weights") or {}, tuning.get("weights_before") or {}
        if not learned:
            return "never tuned"
        shown = [
            f"{source} {weight:g}" + (f" ({before[source]:g})" if source in before else "")
            for source, weight in learned.items()
        ]
        skipped = tuning.get("skipped") or {}
        if skipped:
            shown.append("not tuned: " + ", ".join(sorted(skipped)))
        return "; ".join(shown)

    def save_model(self, request, obj, form, change):
        services.strategy_save(strategy=obj, actor=request.user, changed=list(form.changed_data))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        transaction.on_commit(services.config_changed)

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="strategy.delete", obj=obj)
        super().delete_model(request, obj)
        transaction.on_commit(services.config_changed)

    @admin.action(
        description="Make the selected strategy the default of its surface", permissions=["change"]
    )
    def make_default(self, request, queryset):
        strategies = list(queryset)
        surfaces = [s.surface for s in strategies]
        if len(set(surfaces)) != len(surfaces):
            self.message_user(request, "Select at most one strategy per surface.", messages.ERROR)
            return
        for strategy in strategies:
            services.strategy_make_default(strategy=strategy, actor=request.user)
        self.message_user(
            request,
            "Default now: " + ", ".join(f"{s.name} ({s.surface})" for s in strategies),
            messages.SUCCESS,
        )


class _ConfigAdmin(admin.ModelAdmin):
    """Rule admins: every write is audited and invalidates the serving caches."""

    audit_name = ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=f"{self.audit_name}.{'update' if change else 'create'}",
            obj=obj,
            details={"changed": list(form.changed_data)},
        )
        transaction.on_commit(services.config_changed)

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action=f"{self.audit_name}.delete", obj=obj)
        super().delete_model(request, obj)
        transaction.on_commit(services.config_changed)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action=f"{self.audit_name}.delete", obj=obj)
        super().delete_queryset(request, queryset)
        transaction.on_commit(services.config_changed)


@admin.register(SynonymSet)
class SynonymSetAdmin(_ConfigAdmin):
    audit_name = "synonym_set"
    list_display = ("__str__", "kind", "active", "note", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("terms", "sources", "note")


@admin.register(PinnedResult)
class PinnedResultAdmin(_ConfigAdmin):
    audit_name = "pinned_result"
    list_display = ("query", "product", "position", "active", "updated_at")
    list_filter = ("active", "position")
    search_fields = ("query", "product__title", "product__external_id")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)


class BoostRuleForm(forms.ModelForm):
    """Surfaces picked from the list of surfaces (stored comma-separated on the rule)."""

    surfaces = forms.MultipleChoiceField(
        choices=Surface.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(Surface.values),
        help_text="The surfaces the rule applies to.",
    )

    class Meta:
        model = BoostRule
        fields = ("name", "field", "category", "brand", "factor", "query", "surfaces", "active")
        labels = {"field": "Boost or bury by", "factor": "Score multiplier"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["surfaces"] = [
                s.strip() for s in (self.instance.surfaces or "").split(",") if s.strip()
            ]

    def clean_surfaces(self) -> str:
        return ",".join(s for s in Surface.values if s in self.cleaned_data["surfaces"])


@admin.register(BoostRule)
class BoostRuleAdmin(_ConfigAdmin):
    form = BoostRuleForm
    audit_name = "boost_rule"
    list_display = (
        "name",
        "field",
        "target",
        "factor",
        "query",
        "surfaces",
        "active",
        "updated_at",
    )
    list_filter = ("field", "active")
    search_fields = ("name", "query", "category__name", "brand__name")
    list_select_related = ("category", "brand")
    autocomplete_fields = ("category", "brand")

    @admin.display(description="Target")
    def target(self, obj: BoostRule) -> str:
        return str(obj.category or obj.brand or "—")


@admin.register(IntentBehaviour)
class IntentBehaviourAdmin(admin.ModelAdmin):
    """The intent → ranking mapping of every strategy; a save bumps the strategy's version."""

    list_display = (
        "strategy",
        "intent",
        "acts_by",
        "strength",
        "review_snippets",
        "answers_first",
        "updated_at",
    )
    list_filter = ("intent", "strategy", "diversify", "review_snippets", "answers_first")
    search_fields = ("intent", "strategy__name")
    list_select_related = ("strategy",)
    fields = ("strategy", *INTENT_FIELDS)

    @admin.display(description="Favours")
    def acts_by(self, obj: IntentBehaviour) -> str:
        parts = [
            f"{name} ×{weight:g}"
            for name, weight in (
                ("in stock", obj.in_stock_weight),
                ("bought often", obj.purchase_weight),
                ("price match", obj.price_match_weight),
                ("rating", obj.rating_weight),
            )
            if weight > 0
        ]
        if obj.diversify:
            parts.append("more brands and categories")
        return ", ".join(parts) or "no reordering"

    def save_model(self, request, obj, form, change):
        services.intent_behaviour_save(
            behaviour=obj, actor=request.user, changed=list(form.changed_data)
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="intent_behaviour.delete", obj=obj)
        super().delete_model(request, obj)
        transaction.on_commit(services.config_changed)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action="intent_behaviour.delete", obj=obj)
        super().delete_queryset(request, queryset)
        transaction.on_commit(services.config_changed)
