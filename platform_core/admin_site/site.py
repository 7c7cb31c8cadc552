"""Aisle's admin site: the dashboard home, the app list grouped by workflow, the lab scope and the
optional second factor, all in the class (no instance patching).

``platform_core.apps.AisleAdminConfig`` names this class as ``default_site``, so
``django.contrib.admin.site`` is an instance of it and every ``admin.register`` — ours, axes',
django-otp's, DRF's token admin — lands here unchanged.

Who is let in (``has_permission``): Django's rule (active staff), then, when
``STAFF_OTP_REQUIRED`` is on, a verified one-time code (django-otp's ``OTPAdminSite`` rule, and
its login form), then the Academy's lab scope: a learner whose staff access comes from a lab sees
only the pages of the lab's models (``courses.admin_access``, where that rule lives).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import path, reverse, reverse_lazy
from django.utils import timezone

from courses.admin_access import request_in_lab_scope
from platform_core.admin_site import dashboard, groups, pages


class AisleAdminSite(admin.AdminSite):
    """The admin at ``/admin/``: a home dashboard, and every page behind the access rules above."""

    site_header = "Aisle administration"
    site_title = "Aisle admin"
    index_title = "Dashboard"
    index_template = "admin/dashboard.html"
    # "View site" goes to the Academy portal, the one page of the site meant for people
    # (the storefront is the shop's own; the API is documented at /api/docs/).
    site_url = reverse_lazy("academy:dashboard")

    @staticmethod
    def _otp_required() -> bool:
        return bool(getattr(settings, "STAFF_OTP_REQUIRED", False))

    @property
    def login_form(self):
        if self._otp_required():
            from django_otp.admin import OTPAdminAuthenticationForm

            return OTPAdminAuthenticationForm
        return None

    @property
    def login_template(self):
        if self._otp_required():
            from django_otp.admin import OTPAdminSite

            return OTPAdminSite.login_template
        return None

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        if self._otp_required() and not request.user.is_verified():
            return False
        return request_in_lab_scope(request)

    def get_app_list(self, request, app_label=None):
        """The home page and the sidebar group the apps by workflow; an app's own page
        (``/admin/<app>/``) keeps Django's list of that app."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        return groups.grouped(
            self._build_app_dict(request).values(),
            index_url=self._index_url(),
            pages=self._page_entries(request),
        )

    def get_urls(self):
        """Django's admin URLs, then the registered pages (``pages.register``)."""
        extra = [
            path(f"{p.prefix}/{p.slug}/", self.admin_view(p.view), name=p.name)
            for p in pages.registered()
        ]
        return extra + super().get_urls()

    def _page_entries(self, request) -> list[tuple[str, dict]]:
        """The registered pages this user may open, as app-list rows of their group."""
        return [
            (
                page.group,
                {
                    "name": page.title,
                    "object_name": page.slug,
                    "admin_url": reverse(f"{self.name}:{page.name}", current_app=self.name),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                },
            )
            for page in pages.visible_to(request.user)
        ]

    def _index_url(self) -> str:
        return reverse("admin:index", current_app=self.name)

    def each_context(self, request):
        context = super().each_context(request)
        context["api_docs_url"] = reverse("api-docs")
        return context

    def index(self, request, extra_context=None):
        """The home dashboard: tiles the user may see, then the grouped app list."""
        now = timezone.now()
        context = {
            "tiles": dashboard.tiles_for(request.user, now=now),
            # None: not this user's to see; []: the slot before the rollups fill it
            "traffic_tiles": (
                dashboard.traffic_tiles(now) if dashboard.traffic_visible(request.user) else None
            ),
            "academy_url": str(self.site_url),
            "page_links": [
                (page.title, reverse(f"{self.name}:{page.name}", current_app=self.name))
                for page in pages.visible_to(request.user)
            ],
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
