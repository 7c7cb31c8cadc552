"""Admin for alert rules (threshold and on/off) and alerts (acknowledge, resolve; audited)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q

from platform_core import alerts
from platform_core.models import Alert, AlertRule
from platform_core.services import audit_record


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Rules come from the apps' registry: operators change the threshold and turn them off."""

    list_display = ("title", "name", "condition", "enabled", "active_alerts", "updated_at")
    list_filter = ("enabled", "unit")
    search_fields = ("name", "title", "description")
    list_editable = ("enabled",)
    readonly_fields = ("name", "title", "description", "comparison", "unit", "updated_at")
    fields = ("name", "title", "description", "comparison", "threshold", "unit", "enabled")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active=Count(
                    "alerts",
                    filter=Q(alerts__status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED]),
                )
            )
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Raises when")
    def condition(self, obj: AlertRule) -> str:
        return f"value {obj.comparison} {obj.threshold:g} {obj.unit}".strip()

    @admin.display(description="Active alerts", ordering="active")
    def active_alerts(self, obj: AlertRule) -> int:
        return obj.active

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="alert_rule.change",
            obj=obj,
            details={
                "changed": form.changed_data,
                "threshold": obj.threshold,
                "enabled": obj.enabled,
            },
        )


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Raised and resolved by beat; operators acknowledge or resolve (both audited)."""

    list_display = (
        "rule",
        "subject",
        "status",
        "value",
        "threshold",
        "first_seen_at",
        "last_seen_at",
        "emailed_at",
    )
    list_filter = ("status", "rule", "first_seen_at")
    search_fields = ("subject", "message", "rule__title", "rule__name")
    list_select_related = ("rule",)
    date_hierarchy = "first_seen_at"
    actions = ("acknowledge", "resolve")
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # every field is read-only: the "change" permission is for the two actions
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _act(self, request, queryset, service, verb: str) -> None:
        done = sum(service(alert=alert, actor=request.user) for alert in queryset)
        messages.success(request, f"{done} alert(s) {verb}.")
        if done < queryset.count():
            messages.info(request, "The others were not open any more.")

    @admin.action(description="Acknowledge: seen, being handled", permissions=["change"])
    def acknowledge(self, request, queryset):
        self._act(request, queryset, alerts.alert_acknowledge, "acknowledged")

    @admin.action(
        description="Resolve by hand (not raised again before it clears)", permissions=["change"]
    )
    def resolve(self, request, queryset):
        self._act(request, queryset, alerts.alert_resolve, "resolved")
