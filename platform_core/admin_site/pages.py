"""Admin pages that belong to no model (the search analytics pages), registered by the app that
owns them and served by the admin site.

An app's ``admin.py`` (imported by admin autodiscovery, before the URLs are read) calls
:func:`register`; :class:`~platform_core.admin_site.site.AisleAdminSite` mounts every page under
``/admin/<prefix>/<slug>/`` behind its login and access rules, lists each in its workflow group
on the home page and in the sidebar for whoever holds its permission, and links them from the
dashboard's links row. The view checks the permission itself too (a URL can be typed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def register_family(
    *,
    prefix: str,
    name_prefix: str,
    group: str,
    permission: str,
    render: Callable,
    specs: Sequence[tuple[str, str, Callable]],
) -> list[AdminPage]:
    """Register pages that share a URL prefix, group, permission and renderer: one per
    ``(slug, title, build)`` of ``specs``, named ``<name_prefix>_<slug>``, whose view calls
    ``render(request, slug=…, title=…, build=…)``. Returns them in order (for a page family's
    own navigation)."""
    family = []
    for slug, title, build in specs:

        def view(request, slug=slug, title=title, build=build):
            return render(request, slug=slug, title=title, build=build)

        view.__name__ = f"{name_prefix}_{slug}"
        page = AdminPage(
            prefix=prefix,
            slug=slug,
            name=f"{name_prefix}_{slug}",
            title=title,
            group=group,
            permission=permission,
            view=view,
        )
        register(page)
        family.append(page)
    return family


def registered() -> list[AdminPage]:
    """Every page, in registration order."""
    return list(_PAGES.values())


def visible_to(user) -> list[AdminPage]:
    """The pages ``user`` may open."""
    return [p for p in _PAGES.values() if user.has_perm(p.permission)]
