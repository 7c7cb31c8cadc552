"""Admin for strategies (with an audited "make default" action) and merchandising rules:
synonym sets, pinned results, boost/bury rules. Strategy saves go through
``recommend.services.strategy_save`` (version bump, audit, cache invalidation)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html, format_html_join

from platform_core.services import audit_record
from recommend import services
from recommend.models import BoostRule, PinnedResult, Strategy, SynonymSet


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
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
        "weights_set_by",
        "diversity",
        "use_ranker",
        "hide_out_of_stock",
    )
    search_fields = ("name", "description")
    list_select_related = ("retriever_version", "ranker_version", "cf_version", "intent_version")
    readonly_fields = (
        "version",
        "is_default",
        "created_at",
        "updated_at",
        "weights_set_by",
        "weights_job",
        "weights_tuned_at",
        "weights_operator_at",
        "tuning_record",
    )
    filter_horizontal = ("boost_rules",)
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
                    "use_intent",
                )
            },
        ),
        (
            "Fusion",
            {
                "fields": (
                    "lexical_weight",
                    "semantic_weight",
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
                "description": "A tuning job (tune_search for search) chooses the weights on "
                "validation queries; editing them here makes them yours, and later tuning "
                "jobs keep them unless launched with overwrite_operator_weights.",
                "fields": (
                    "weights_set_by",
                    "weights_job",
                    "weights_tuned_at",
                    "weights_operator_at",
                    "tuning_record",
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
        (None, {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Models")
    def slots(self, obj: Strategy) -> str:
        parts = []
        for slot in ("retriever", "ranker", "cf", "intent"):
            version = getattr(obj, f"{slot}_version")
            parts.append(f"{slot}: {'#' + str(version.pk) if version else 'active'}")
        if not obj.use_ranker:
            parts[1] = "ranker: off"
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
    raw_id_fields = ("product",)


@admin.register(BoostRule)
class BoostRuleAdmin(_ConfigAdmin):
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
    raw_id_fields = ("category", "brand")

    @admin.display(description="Target")
    def target(self, obj: BoostRule) -> str:
        return str(obj.category or obj.brand or "—")
