"""Permission classes shared by every API app."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from platform_core.models import ApiClient


class DenyAll(BasePermission):
    """The default: a view must say who may call it."""

    message = "This endpoint does not declare who may call it."

    def has_permission(self, request, view) -> bool:
        return False


def api_client(request) -> ApiClient | None:
    return request.auth if isinstance(request.auth, ApiClient) else None


class HasScope(BasePermission):
    """Storefront endpoints: an API key with the view's ``required_scope``."""

    def has_permission(self, request, view) -> bool:
        scope = getattr(view, "required_scope", None)
        client = api_client(request)
        if client is None:
            self.message = "Send an API key: Authorization: Api-Key <key>."
            return False
        if scope and not client.has_scope(scope):
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        return True


class IsStaffWithPerm(BasePermission):
    """Staff endpoints: a signed-in staff user (session or token) holding ``required_perms``."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            self.message = "Sign in as staff (session) or send Authorization: Token <token>."
            return False
        perms = getattr(view, "required_perms", {}).get(request.method) or getattr(
            view, "required_perms_all", ()
        )
        if not user.is_staff and not perms:
            self.message = "Staff only."
            return False
        if perms and not user.has_perms(perms):
            self.message = f"Your role lacks the permission(s): {', '.join(perms)}."
            return False
        return True
