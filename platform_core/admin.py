"""Admin for staff users, API clients (key shown once; rotate / revoke) and the audit log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from platform_core import (  # noqa: F401  (admin_alerts, admin_deadletters register their pages)
    admin_alerts,
    admin_deadletters,
    services,
)
from platform_core.models import ApiClient, ApiScope, AuditLog, User

ROLE_CHOICES = (
    ("operator", "Operator — runs the catalog, jobs and experiments"),
    ("analyst", "Analyst — reads reports and results, changes nothing"),
    ("learner", "Learner — the Academy only (labs open what they need)"),
)


class StaffUserCreationForm(UserCreationForm):
    """One page: the name, the password and the role (``platform_core.roles``)."""

    role = forms.ChoiceField(choices=ROLE_CHOICES, widget=forms.RadioSelect)
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean(self):
        data = super().clean()
        password = data.get("password2")
        if password and not self.has_error("password2"):
            try:
                services.staff_password_validate(
                    password, username=data.get("username") or "", email=data.get("email") or ""
                )
            except ValidationError as exc:
                self.add_error("password2", exc)
        return data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = StaffUserCreationForm
    add_fieldsets = ((None, {"fields": ("username", "email", "role", "password1", "password2")}),)
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role_names",
        "is_staff",
        "is_active",
        "last_login",
    )
    list_filter = ("groups", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":  # the labs' own groups are internal: never picked by hand
            kwargs["queryset"] = db_field.related_model.objects.exclude(
                name__startswith=services.INTERNAL_GROUP_PREFIX
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        user = services.staff_user_create(
            username=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data.get("email") or "",
            actor=request.user,
        )
        obj.pk, obj.password, obj.is_staff = user.pk, user.password, user.is_staff
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # the groups picker does not list a user's lab groups: keep them through the save
        internal = (
            list(form.instance.groups.filter(name__startswith=services.INTERNAL_GROUP_PREFIX))
            if change
            else []
        )
        super().save_related(request, form, formsets, change)
        if internal:
            form.instance.groups.add(*internal)

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return (
            "superuser" if obj.is_superuser else ", ".join(g.name for g in obj.groups.all()) or "—"
        )


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Public keys only: one origin per line, e.g. https://shop.example.com",
    )

    class Meta:
        model = ApiClient
        fields = ("name", "scopes", "public", "allowed_origins", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_origins"] = "\n".join(self.instance.allowed_origins)

    def clean_allowed_origins(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data["allowed_origins"].splitlines()
            if line.strip()
        ]

    def clean(self):
        data = super().clean()
        try:
            services.validate_client_settings(
                scopes=data.get("scopes") or [],
                public=bool(data.get("public")),
                allowed_origins=data.get("allowed_origins") or [],
            )
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return data


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = (
        "name",
        "prefix",
        "scope_list",
        "public",
        "active",
        "request_count",
        "last_used_at",
        "created_at",
    )
    list_filter = ("active", "public")
    search_fields = ("name", "prefix")
    readonly_fields = (
        "prefix",
        "created_at",
        "created_by",
        "rotated_at",
        "last_used_at",
        "request_count",
    )
    actions = ("rotate_keys", "revoke_keys")

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            services.audit_record(
                actor=request.user,
                action="api_client.change",
                obj=obj,
                details={"changed": form.changed_data},
            )
            return
        client, key = services.api_client_create(
            name=obj.name,
            scopes=obj.scopes,
            public=obj.public,
            allowed_origins=obj.allowed_origins,
            created_by=request.user,
        )
        obj.pk, obj.prefix, obj.key_hash = client.pk, client.prefix, client.key_hash
        obj._state.adding = False
        messages.warning(
            request, f"API key for “{client.name}” — copy it now, it is not shown again: {key}"
        )

    @admin.action(
        description="Rotate key (the old key stops working; the new one is shown once)",
        permissions=["change"],
    )
    def rotate_keys(self, request, queryset):
        for client in queryset:
            key = services.api_client_rotate(client=client, actor=request.user)
            messages.warning(request, f"New API key for “{client.name}” (shown once): {key}")

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        for client in queryset:
            services.api_client_revoke(client=client, actor=request.user)
        messages.success(request, f"Revoked {queryset.count()} key(s).")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor_name", "action", "object_repr", "object_id")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- django-axes' login records ------------------------------------------------------------------
# Its admin offers "Delete selected" on its two logs and a clean-up action without a permission.
# The logs become read-only; deleting an attempt (which lifts a lockout, like `unlock_login`) and
# the clean-up need the attempt's delete permission, which no role holds.


def _axes_admin() -> None:
    from django.conf import settings

    if not getattr(settings, "AXES_ENABLE_ADMIN", True) or "axes" not in settings.INSTALLED_APPS:
        return
    import axes.admin as axes_admin  # registers axes' own admins first (and only once)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
        @admin.action(description="Clean up expired attempts", permissions=["delete"])
        def cleanup_expired_attempts(self, request, queryset):
            return super().cleanup_expired_attempts(request, queryset)

    class ReadOnlyLog:
        def has_change_permission(self, request, obj=None):
            return False

        def has_delete_permission(self, request, obj=None):
            return False

    class AccessLogAdmin(ReadOnlyLog, axes_admin.AccessLogAdmin):
        pass

    class AccessFailureLogAdmin(ReadOnlyLog, axes_admin.AccessFailureLogAdmin):
        pass

    for model, model_admin in (
        (AccessAttempt, AccessAttemptAdmin),
        (AccessLog, AccessLogAdmin),
        (AccessFailureLog, AccessFailureLogAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)


_axes_admin()
