"""The role groups' permissions are synced once a post_migrate round (a migrate, or the flush
after every transactional test), not once per app: the per-app sync cost every transactional
test's teardown about 8,000 queries (27–50 s on a loaded 2-core machine)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.roles import ROLE_APP_PERMISSIONS, sync_role_permissions

pytestmark = pytest.mark.django_db


def _role_permissions() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("content_type__app_label", "codename"))
        for group in Group.objects.filter(name__in=list(ROLE_APP_PERMISSIONS))
    }


def test_a_post_migrate_round_syncs_the_roles_once_and_completely():
    sync_role_permissions()  # called directly: always syncs
    expected = _role_permissions()
    assert set(expected) == set(ROLE_APP_PERMISSIONS) and expected["operator"]
    Group.objects.filter(name__in=list(ROLE_APP_PERMISSIONS)).delete()  # as a flush leaves them

    with CaptureQueriesContext(connection) as round_queries:
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert _role_permissions() == expected  # every role group back with all its permissions
    with CaptureQueriesContext(connection) as one_sync:
        sync_role_permissions()
    print(f"\npost_migrate round: {len(round_queries)} queries; one sync: {len(one_sync)}")
    # the whole round (content types, permissions and alert rules of 22 apps, and the roles)
    # costs less than three syncs of the roles: they are synced once, after the last app's
    # signal (measured: 187 queries vs one sync's 91; synced per app, 7,884)
    assert len(round_queries) < 3 * len(one_sync)
