"""Admin pages that belong to no model (the search analytics pages), registered by the app that
owns them and served by the admin site.

An app's ``admin.py`` (imported by admin autodiscovery, before the URLs are read) calls
:func:`register`; :class:`~platform_core.admin_site.site.AisleAdminSite` mounts every page under
``/admin/<prefix>/<slug>/`` behind its login and access rules, lists each in its workflow group
on the home page and in the sidebar for whoever holds its permission, and links them from the
dashboard's links row. The view checks the permission itself too (a URL can be typed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AdminPage:
    """One page: URL ``<prefix>/<slug>/`` named ``admin:<name>``, its title in the app list, the
    workflow group it is listed in (``groups.GROUPS`` slug) and the permission that shows it."""

    prefix: str
    slug: str
    name: str
    title: str
    group: str
    permission: str
    view: Callable


_PAGES: dict[str, AdminPage] = {}


def register(page: AdminPage) -> None:
    """Add (or replace, by URL name) a page."""
    _PAGES[page.name] = page


def registered() -> list[AdminPage]:
    """Every page, in registration order."""
    return list(_PAGES.values())


def visible_to(user) -> list[AdminPage]:
    """The pages ``user`` may open."""
    return [p for p in _PAGES.values() if user.has_perm(p.permission)]
