"""Admin access for learners during a lab.

Decision (see docs/academy.md): the Django admin admits only ``is_staff`` users, and learners are
not staff. Starting a lab makes a non-staff learner staff *for the lab's duration* and adds them to
the lab's permission group (``lab:<slug>``, holding exactly the lab's permissions); passing or
leaving the lab takes both back. Being staff with a few model permissions already limits the
admin's model pages to those models, but any page that only checks ``is_staff`` (the password
change page, custom views that forget a permission check) would open too. So the admin site's
``has_permission`` (``platform_core.admin_site.site.AisleAdminSite``) also asks
:func:`request_in_lab_scope`: for a user whose staff access comes from a lab, only the admin
index, logout, the JavaScript catalogue, the pages under ``/admin/<app>/<model>/`` of models
their active labs' permissions name, and the admin pages that belong to no model
(``platform_core.admin_site.pages``, the search analytics) whose permission names one of those
models are allowed; everything else sends them to the admin login
page as for any non-staff user. Operators and analysts (staff of their own) are not affected.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

ALWAYS_ALLOWED = {"", "logout", "jsi18n", "autocomplete"}


def _admin_prefix() -> str:
    try:
        return reverse("admin:index")
    except NoReverseMatch:  # pragma: no cover — admin not mounted
        return "/admin/"


def path_in_scope(path: str, scope: set[str], *, prefix: str | None = None) -> bool:
    """Whether an admin ``path`` belongs to the models in ``scope`` (``app_label.model``)."""
    prefix = prefix or _admin_prefix()
    if not path.startswith(prefix):
        return False
    parts = path[len(prefix) :].split("/")
    first = parts[0]
    if len(parts) <= 2 and first in ALWAYS_ALLOWED and (len(parts) == 1 or parts[1] == ""):
        return True
    if len(parts) < 2:
        return False
    if _registered_page_in_scope(parts, scope):
        return True
    app_label, model = first, parts[1]
    if model == "":
        return any(name.split(".", 1)[0] == app_label for name in scope)  # the app's index page
    return f"{app_label}.{model}" in scope


def _registered_page_in_scope(parts: list[str], scope: set[str]) -> bool:
    """Whether the admin path ``parts`` is a registered page (``<prefix>/<slug>/``) whose
    permission (``app_label.view_model``) names a model in ``scope``."""
    from platform_core.admin_site import pages

    path = "/".join(parts).rstrip("/")
    for page in pages.registered():
        if path == f"{page.prefix}/{page.slug}".strip("/"):
            app_label, _, codename = page.permission.partition(".")
            model = codename.split("_", 1)[1] if "_" in codename else ""
            return f"{app_label}.{model}" in scope
    return False


def request_in_lab_scope(request) -> bool:
    """True unless the user is a lab-scoped learner asking for a page outside their labs."""
    from courses.selectors import lab_admin_scope

    cached = getattr(request, "_academy_lab_scope", False)
    scope = lab_admin_scope(request.user) if cached is False else cached
    request._academy_lab_scope = scope
    if scope is None:
        return True
    return path_in_scope(request.path, scope)
