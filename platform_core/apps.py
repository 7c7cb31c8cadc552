from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PlatformConfig(AppConfig):
    """Platform-wide app: staff users and roles, API clients and keys, audit log, metrics, alerts."""

    name = "platform_core"
    label = "platform_core"
    # The design card calls this app "platform"; the package cannot be named so (it would
    # shadow the standard-library module), but the admin shows the card's name.
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from platform_core import roles
        from platform_core.api import schema  # noqa: F401  (registers the ApiKey OpenAPI scheme)

        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="aisle-sync-roles")

        from platform_core import alerts, metrics

        alerts.register_platform_rules()
        metrics.register_gauges("alerts", alerts.alerts_open_gauges)
        post_migrate.connect(
            alerts.rules_sync_after_migrate, sender=self, dispatch_uid="aisle-alert-rules"
        )

        from corsheaders.signals import check_request_enabled
        from django.db.models.signals import post_delete, post_save

        from platform_core.api import cors

        check_request_enabled.connect(cors.cors_allow_public_origins, dispatch_uid="aisle-cors")
        post_save.connect(
            cors.invalidate, sender="platform_core.ApiClient", dispatch_uid="aisle-cors-inv"
        )
        from platform_core import api_keys

        for signal in (post_save, post_delete):  # every process reads the changed key again
            signal.connect(
                api_keys.invalidate,
                sender="platform_core.ApiClient",
                dispatch_uid=f"aisle-api-keys-{signal is post_save}",
            )


class AisleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with Aisle's site as the default one: ``admin.site`` is an
    ``AisleAdminSite`` (dashboard home, workflow-grouped app list, lab scope, optional second
    factor), so every registration, third-party ones included, keeps working unchanged."""

    default_site = "platform_core.admin_site.site.AisleAdminSite"
