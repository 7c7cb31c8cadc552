"""Reproductions of permission holes found in review: each admin write checks the permission of
what it writes, every custom admin action has an explicit permission, read-only logs cannot be
deleted, ``next`` never leaves the site, and CORS headers are sent on ``/api/v1/`` only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from catalog.models import Event, ImportRun, Product, SearchLog
from courses import services as course_services
from courses.labs import NEVER_GRANTED_BY_LABS
from courses.models import Attempt, Post, Thread
from platform_core import services as platform_services
from platform_core.models import ApiClient, AuditLog
from platform_core.roles import sync_role_permissions
from tests.factories import (
    CategoryFactory,
    EventFactory,
    ExperimentFactory,
    LabFactory,
    LessonFactory,
    ModuleFactory,
    ProductFactory,
    QuizFactory,
    SearchLogFactory,
    ShopperFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
IMPORT_LAB_YAML = (
    REPO / "courses/curriculum/03-data-and-experiments/02-data-quality-and-value/module.yaml"
)


def _curriculum_labs() -> list[dict]:
    labs = []
    for path in sorted((REPO / "courses/curriculum").rglob("module.yaml")):
        lab = (yaml.safe_load(path.read_text()) or {}).get("lab")
        if lab:
            labs.append({**lab, "_file": str(path.relative_to(REPO))})
    return labs


def _grant(user, *names: str) -> None:
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


@pytest.fixture
def lab_learner(learner_user):
    """A learner who started the "import and fix rejected rows" lab, with the permissions the
    curriculum gives that lab (read from its module.yaml, so the test follows the curriculum)."""
    lab_doc = yaml.safe_load(IMPORT_LAB_YAML.read_text())["lab"]
    assert lab_doc["check"] == "catalog_import_fixed"
    lab = LabFactory(
        module=ModuleFactory(),
        slug=lab_doc["slug"],
        check_name=lab_doc["check"],
        permissions=list(lab_doc["permissions"]),
    )
    course_services.lab_start(user=learner_user, lab=lab)
    learner_user.refresh_from_db()
    assert learner_user.is_staff and learner_user.has_perm("catalog.add_product")
    return learner_user


def _upload(client, *, kind: str, body: bytes, full_sync: bool = False, name: str = "f.csv"):
    data = {"file": SimpleUploadedFile(name, body), "kind": kind}
    if full_sync:
        data["full_sync"] = "on"
    return client.post(reverse("admin:catalog_import"), data)


EVENTS_CSV = b"event_id,shopper,type,product,timestamp\ne1,s1,view,p1,2024-05-01T10:00:00Z\n"


# --- the import page ---------------------------------------------------------------------------------


def test_lab_learner_cannot_import_events_or_full_sync(client, lab_learner):
    CategoryFactory(external_id="bags", name="Bags")
    ProductFactory(external_id="p1")
    keep = ProductFactory(external_id="not-in-file")
    client.force_login(lab_learner)

    page = client.get(reverse("admin:catalog_import"))
    assert page.status_code == 200
    kinds = [value for value, _ in page.context["form"].fields["kind"].choices]
    assert kinds == ["products"] and "full_sync" not in page.context["form"].fields

    assert _upload(client, kind="events", body=EVENTS_CSV).status_code == 403
    assert not Event.objects.exists() and not ImportRun.objects.filter(kind="events").exists()

    products = b"external_id,title,price,category\nb1,Bag,10,bags\n"
    assert _upload(client, kind="products", body=products, full_sync=True).status_code == 403
    keep.refresh_from_db()
    assert keep.active and not Product.objects.filter(external_id="b1").exists()

    # what the lab is for still works
    assert _upload(client, kind="products", body=products).status_code == 200
    assert Product.objects.filter(external_id="b1").exists()


def test_full_sync_needs_its_own_permission(client):
    CategoryFactory(external_id="bags", name="Bags")
    keep = ProductFactory(external_id="not-in-file")
    editor = UserFactory(username="editor")
    _grant(editor, "catalog.view_product", "catalog.add_product", "catalog.change_product")
    client.force_login(editor)
    products = b"external_id,title,price,category\nb1,Bag,10,bags\n"
    assert _upload(client, kind="products", body=products, full_sync=True).status_code == 403
    keep.refresh_from_db()
    assert keep.active

    _grant(editor, "catalog.full_sync_product")
    editor = type(editor).objects.get(pk=editor.pk)  # drop the permission cache
    client.force_login(editor)
    assert _upload(client, kind="products", body=products, full_sync=True).status_code == 200
    keep.refresh_from_db()
    assert not keep.active


def test_each_import_kind_checks_the_permission_of_what_it_writes(client):
    """Products rights do not import events, categories or shoppers."""
    editor = UserFactory(username="editor")
    _grant(editor, "catalog.view_product", "catalog.add_product", "catalog.change_product")
    client.force_login(editor)
    assert _upload(client, kind="categories", body=b"external_id,name\nc1,C\n").status_code == 403
    assert _upload(client, kind="shoppers", body=b"external_id\ns9\n").status_code == 403
    assert _upload(client, kind="events", body=EVENTS_CSV).status_code == 403
    assert not ImportRun.objects.exists()

    _grant(editor, "catalog.add_event", "catalog.add_shopper")
    editor = type(editor).objects.get(pk=editor.pk)
    client.force_login(editor)
    ProductFactory(external_id="p1")
    assert _upload(client, kind="events", body=EVENTS_CSV).status_code == 200
    assert Event.objects.filter(event_id="e1").exists()


def test_operators_may_full_sync_and_no_lab_grants_it():
    from django.contrib.auth.models import Group

    sync_role_permissions()
    operator = Group.objects.get(name="operator")
    assert operator.permissions.filter(codename="full_sync_product").exists()
    assert (
        not Group.objects.get(name="analyst")
        .permissions.filter(codename="full_sync_product")
        .exists()
    )
    assert "catalog.full_sync_product" in NEVER_GRANTED_BY_LABS
    for lab in _curriculum_labs():
        assert not set(lab.get("permissions", [])) & NEVER_GRANTED_BY_LABS, lab["_file"]


def test_a_lab_that_names_a_forbidden_permission_does_not_grant_it(learner_user):
    lab = LabFactory(
        module=ModuleFactory(),
        slug="greedy-lab",
        permissions=["catalog.view_product", "catalog.full_sync_product", "catalog.add_event"],
    )
    course_services.lab_start(user=learner_user, lab=lab)
    learner_user = type(learner_user).objects.get(pk=learner_user.pk)
    assert learner_user.has_perm("catalog.view_product")
    assert not learner_user.has_perm("catalog.full_sync_product")
    assert not learner_user.has_perm("catalog.add_event")


# --- custom admin actions ------------------------------------------------------------------------------


def _custom_actions():
    """Every (model admin, action name) that is not Django's own delete_selected."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or ():
            name = action if isinstance(action, str) else action.__name__
            if name != "delete_selected":
                found.append((model, model_admin, name))
    return found


def test_every_custom_admin_action_declares_a_permission():
    actions = _custom_actions()
    assert {name for _, _, name in actions} >= {
        "reset_attempts",
        "hide_posts",
        "rotate_keys",
        "revoke_keys",
    }
    for model, model_admin, name in actions:
        func = getattr(model_admin, name)
        permissions = getattr(func, "allowed_permissions", None)
        assert permissions, f"{model._meta.label}.{name} has no permission"
        for permission in permissions:
            assert callable(getattr(model_admin, f"has_{permission}_permission", None)), (
                model,
                name,
                permission,
            )


def test_no_admin_action_is_offered_without_its_permission(analyst_user, operator_user):
    """Someone who may only view sees no write action on any changelist."""
    request = RequestFactory().get("/admin/")
    sync_role_permissions()
    for user in (analyst_user, operator_user):
        request.user = type(user).objects.get(pk=user.pk)
        for model, model_admin, name in _custom_actions():
            perms = model_admin.get_action(name)[0].allowed_permissions
            if all(p == "view" for p in perms):
                continue
            offered = name in model_admin.get_actions(request)
            allowed = all(getattr(model_admin, f"has_{p}_permission")(request) for p in perms)
            assert offered == allowed, (user.username, model._meta.label, name)


def _attempts():
    quiz = QuizFactory(module=ModuleFactory())
    learner = UserFactory(username="kim", role="learner", is_staff=False)
    for n in (1, 2):
        Attempt.objects.create(quiz=quiz, user=learner, number=n, score=10, passed=False)
    return Attempt.objects.all()


def test_operator_cannot_reset_quiz_attempts(client, operator_user, admin_user):
    sync_role_permissions()  # operators view the Academy's records
    attempts = _attempts()
    url = reverse("admin:courses_attempt_changelist")
    client.force_login(operator_user)
    assert client.get(url).status_code == 200
    client.post(url, {"action": "reset_attempts", "_selected_action": [a.pk for a in attempts]})
    assert Attempt.objects.count() == 2

    client.force_login(admin_user)
    client.post(url, {"action": "reset_attempts", "_selected_action": [a.pk for a in attempts]})
    assert Attempt.objects.count() == 0
    assert AuditLog.objects.filter(action="academy.quiz_attempts_reset", actor=admin_user).exists()


def test_hide_posts_needs_the_change_permission(client, operator_user):
    sync_role_permissions()
    thread = Thread.objects.create(lesson=LessonFactory(), title="Help", author=None)
    post = Post.objects.create(thread=thread, body="spam")
    url = reverse("admin:courses_post_changelist")
    client.force_login(operator_user)
    assert client.get(url).status_code == 200
    client.post(url, {"action": "hide_posts", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert not post.hidden

    moderator = UserFactory(username="mod")
    _grant(moderator, "courses.view_post", "courses.change_post")
    client.force_login(moderator)
    client.post(url, {"action": "hide_posts", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert post.hidden


def test_api_client_rotate_and_revoke_need_the_change_permission(client):
    api_client, _ = platform_services.api_client_create(name="shop", scopes="read")
    viewer = UserFactory(username="viewer")
    _grant(viewer, "platform_core.view_apiclient")
    client.force_login(viewer)
    url = reverse("admin:platform_core_apiclient_changelist")
    assert client.get(url).status_code == 200
    for action in ("rotate_keys", "revoke_keys"):
        client.post(url, {"action": action, "_selected_action": [api_client.pk]})
    fresh = ApiClient.objects.get(pk=api_client.pk)
    assert fresh.key_hash == api_client.key_hash and fresh.active

    _grant(viewer, "platform_core.change_apiclient")
    client.force_login(type(viewer).objects.get(pk=viewer.pk))
    client.post(url, {"action": "revoke_keys", "_selected_action": [api_client.pk]})
    assert not ApiClient.objects.get(pk=api_client.pk).active


# --- read-only logs ------------------------------------------------------------------------------------

READ_ONLY_LOGS = [
    "catalog.Event",
    "catalog.SearchLog",
    "catalog.ImportRun",
    "platform_core.AuditLog",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "experiments.Exposure",
    "experiments.Assignment",
    "analytics.ServedRequest",
]


def test_read_only_logs_offer_no_delete(client, admin_user):
    from django.apps import apps

    shopper = ShopperFactory()
    rows = {
        "catalog.Event": EventFactory(shopper=shopper),
        "catalog.SearchLog": SearchLogFactory(shopper=shopper),
        "catalog.ImportRun": ImportRun.objects.create(
            kind="products", source="admin", status="succeeded"
        ),
        "platform_core.AuditLog": AuditLog.objects.create(action="test.entry", actor_name="x"),
        "analytics.ServedRequest": apps.get_model("analytics.ServedRequest").objects.create(
            request_id="served-1", endpoint="search", surface="search", timestamp=timezone.now()
        ),
    }
    if apps.is_installed("axes"):
        from axes.models import AccessFailureLog, AccessLog

        login = {
            "user_agent": "test",
            "ip_address": "10.0.0.1",
            "username": "kim",
            "http_accept": "*/*",
            "path_info": "/admin/login/",
        }
        rows["axes.AccessLog"] = AccessLog.objects.create(**login)
        rows["axes.AccessFailureLog"] = AccessFailureLog.objects.create(**login)
    client.force_login(admin_user)
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    for label in READ_ONLY_LOGS:
        model = apps.get_model(label)
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue  # not in the admin at all: nothing to delete there
        assert not model_admin.has_delete_permission(request), label
        assert "delete_selected" not in model_admin.get_actions(request), label
        meta = model._meta
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert (
            changelist.status_code == 200
            and 'value="delete_selected"' not in changelist.content.decode()
        ), label
        obj = rows[label]
        delete_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403, label
        assert model.objects.filter(pk=obj.pk).exists(), label
    assert Event.objects.count() == 1 and SearchLog.objects.count() == 1


def test_a_product_or_shopper_with_events_is_not_deleted_through_the_admin(client, operator_user):
    """Deleting them would cascade into the events log: deactivate the product, forget the shopper."""
    sync_role_permissions()
    event = EventFactory()
    client.force_login(operator_user)
    for obj in (event.product, event.shopper):
        meta = obj._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
        page = client.get(url)
        assert page.status_code == 200 and page.context["perms_lacking"] == {"event"}
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


# --- next= -------------------------------------------------------------------------------------------

EVIL = "https://evil.example/"


def test_rollback_does_not_follow_a_foreign_next(client, operator_user):
    client.force_login(operator_user)
    url = reverse("admin:training_modelversion_rollback", args=["retriever"])
    for foreign in (EVIL, "//evil.example/x", "https:evil.example", "javascript:alert(1)"):
        response = client.post(url, {"next": foreign})
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:training_modelversion_changelist"), foreign
    own = reverse("admin:training_modelversion_changelist") + "?task=retriever"
    assert client.post(url, {"next": own})["Location"] == own


def test_experiment_start_and_stop_do_not_follow_a_foreign_next(client, operator_user):
    client.force_login(operator_user)
    experiment = ExperimentFactory()
    fallback = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    for name in ("experiments_experiment_start", "experiments_experiment_stop"):
        url = reverse(f"admin:{name}", args=[experiment.pk])
        response = client.post(url, {"next": EVIL})
        assert response.status_code == 302 and response["Location"] == fallback, name
        results = reverse("admin:experiments_experiment_results", args=[experiment.pk])
        assert client.post(url, {"next": results})["Location"] == results


@pytest.mark.parametrize(
    "login, home", [("/academy/login/", "/academy/"), ("/admin/login/", "/admin/")]
)
def test_login_pages_do_not_follow_a_foreign_next(client, operator_user, login, home):
    response = client.post(
        f"{login}?next={EVIL}", {"username": "oper", "password": "pass-1234", "next": EVIL}
    )
    assert response.status_code == 302 and response["Location"] == home


# --- CORS ------------------------------------------------------------------------------------------

ORIGIN = "https://shop.example.com"


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/academy/login/", "/api/docs/", "/healthz", "/api/schema/"]
)
def test_no_cors_headers_outside_the_api(client, path):
    platform_services.api_client_create(
        name="web", scopes="read", public=True, allowed_origins=[ORIGIN]
    )
    response = client.get(path, HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in response.headers, path
    preflight = client.options(path, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in preflight.headers, path


def test_cors_headers_on_the_api(client):
    platform_services.api_client_create(
        name="web", scopes="read", public=True, allowed_origins=[ORIGIN]
    )
    response = client.get("/api/v1/whoami", HTTP_ORIGIN=ORIGIN)
    assert response.headers.get("Access-Control-Allow-Origin") == ORIGIN
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/api/v1/whoami", HTTP_ORIGIN="https://evil.example").headers
    )
