"""Learners stay out of the operator admin; during a lab they reach only that lab's pages. The
Academy's own admin pages (authoring, preview, report) work for staff."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from courses import services
from courses.admin_access import path_in_scope
from courses.models import Lesson
from tests.courses.conftest import right_answers

pytestmark = pytest.mark.django_db

OPERATOR_PAGES = [
    "/admin/",
    "/admin/catalog/product/",
    "/admin/catalog/product/import/",
    "/admin/training/job/",
    "/admin/training/modelversion/",
    "/admin/platform_core/auditlog/",
    "/admin/platform_core/user/",
    "/admin/courses/course/",
    "/admin/password_change/",
]


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_learner_cannot_reach_any_admin_page(client, learner_user):
    client.force_login(learner_user)
    for url in OPERATOR_PAGES:
        assert _is_login_redirect(client.get(url)), url


def test_during_a_lab_only_the_lab_pages_open(client, learner_user, small_course):
    client.force_login(learner_user)
    lab = (
        small_course.lab
    )  # permissions: catalog.view_product, catalog.add_importrun, catalog.view_importrun
    # the import page needs the rights of what a products import writes: add and change
    lab.permissions = [
        "catalog.view_product",
        "catalog.add_product",
        "catalog.change_product",
        "catalog.view_importrun",
        "catalog.add_importrun",
    ]
    lab.save()
    attempt = services.lab_start(user=learner_user, lab=lab)
    learner_user.refresh_from_db()
    assert attempt.granted_staff and learner_user.is_staff
    assert learner_user.groups.filter(name="lab:import-lab").exists()
    assert learner_user.has_perm("catalog.add_product") and not learner_user.has_perm(
        "training.add_job"
    )

    for url in [
        "/admin/",
        "/admin/catalog/",
        "/admin/catalog/product/",
        "/admin/catalog/product/import/",
        "/admin/catalog/importrun/",
    ]:
        assert client.get(url).status_code == 200, url
    index = client.get("/admin/").content.decode()
    assert "/admin/catalog/product/" in index and "/admin/training/" not in index
    for url in [
        "/admin/training/job/",
        "/admin/training/",
        "/admin/platform_core/user/",
        "/admin/platform_core/auditlog/",
        "/admin/password_change/",
        "/admin/courses/course/",
        "/admin/catalog/shopper/",
        "/admin/catalog/event/",
    ]:
        assert _is_login_redirect(client.get(url)), url

    services.lab_leave(user=learner_user, lab=lab)
    learner_user.refresh_from_db()
    assert (
        not learner_user.is_staff and not learner_user.groups.filter(name="lab:import-lab").exists()
    )
    assert _is_login_redirect(client.get("/admin/catalog/product/"))
    assert (
        Group.objects.get(name="lab:import-lab").permissions.count() == 5
    )  # the group stays for the next learner


def test_passing_a_lab_takes_the_access_back(client, learner_user, small_course, monkeypatch):
    from courses import labs

    monkeypatch.setitem(
        labs._CHECKS,
        "always_passes",
        lambda *, user, started_at: labs.CheckResult(True, [("done", True, "")]),
    )
    lab = small_course.lab
    lab.check_name = "always_passes"
    lab.save()
    services.lab_start(user=learner_user, lab=lab)
    result = services.lab_check(user=learner_user, lab=lab)
    learner_user.refresh_from_db()
    assert (
        result.passed
        and not learner_user.is_staff
        and learner_user.groups.filter(name__startswith="lab:").count() == 0
    )
    with pytest.raises(services.LabNotStarted):
        services.lab_check(user=learner_user, lab=lab)


def test_operators_keep_their_own_admin_access(client, operator_user, small_course):
    from platform_core.roles import sync_role_permissions

    # After `migrate`, the role sync can run before the last app's permissions exist (receiver
    # order); syncing again gives operators their `courses.view_*` as designed.
    sync_role_permissions()
    client.force_login(operator_user)
    assert client.get("/admin/training/job/").status_code == 200
    assert client.get("/admin/courses/course/").status_code == 200  # operators may read the Academy
    assert client.get("/admin/platform_core/user/").status_code == 403  # not an operator page
    services.lab_start(user=operator_user, lab=small_course.lab)
    assert (
        client.get("/admin/training/job/").status_code == 200
    )  # a lab does not narrow an operator
    services.lab_leave(user=operator_user, lab=small_course.lab)
    operator_user.refresh_from_db()
    assert operator_user.is_staff


def test_path_in_scope():
    scope = {"catalog.product", "catalog.importrun"}
    assert path_in_scope("/admin/", scope, prefix="/admin/")
    assert path_in_scope("/admin/logout/", scope, prefix="/admin/")
    assert path_in_scope("/admin/catalog/", scope, prefix="/admin/")
    assert path_in_scope("/admin/catalog/product/12/change/", scope, prefix="/admin/")
    assert not path_in_scope("/admin/catalog/category/", scope, prefix="/admin/")
    assert not path_in_scope("/admin/training/", scope, prefix="/admin/")
    assert not path_in_scope("/admin/password_change/", scope, prefix="/admin/")
    assert not path_in_scope("/admin/r/12/3/", scope, prefix="/admin/")


def test_a_registered_admin_page_opens_only_with_a_lab_permission_naming_its_model():
    """The search analytics pages (no model of their own) need analytics.view_servedrequest:
    a lab granting it opens them; a lab that does not leaves them shut."""
    analytics = {"analytics.servedrequest", "recommend.synonymset"}
    assert path_in_scope("/admin/insights/search/problems/", analytics, prefix="/admin/")
    assert path_in_scope("/admin/insights/search/queries/", analytics, prefix="/admin/")
    assert not path_in_scope("/admin/insights/sentiment/worst/", analytics, prefix="/admin/")
    other = {"training.job", "training.datavaluereport"}
    assert not path_in_scope("/admin/insights/search/problems/", other, prefix="/admin/")


def test_course_admin_report_with_chart(
    client, admin_user, learner_user, small_course, django_assert_max_num_queries
):
    services.course_enroll(user=learner_user, course=small_course.course)
    services.lesson_complete(user=learner_user, lesson=small_course.lessons[0])
    services.quiz_submit(user=learner_user, quiz=small_course.quiz, answers={})
    services.quiz_submit(
        user=learner_user, quiz=small_course.quiz, answers=right_answers(small_course.quiz)
    )
    client.force_login(admin_user)
    url = reverse("admin:courses_course_report", args=[small_course.course.pk])
    with django_assert_max_num_queries(15):
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200 and "<svg" in page and "Lesson completion" in page
    assert "50%" in page  # 1 of 2 lessons completed by the one enrolled learner
    assert "100%" in page  # quiz pass rate: the learner passed on the second try
    assert "50.0%" in page  # average quiz score (0 and 100)
    changelist = client.get(reverse("admin:courses_course_changelist")).content.decode()
    assert url in changelist


def test_lesson_preview_and_markdown_preview_are_sanitised(client, admin_user, small_course):
    lesson: Lesson = small_course.lessons[0]
    lesson.body = "# Title\n\nHello *there*\n\n<script>alert(1)</script>"
    lesson.save()
    client.force_login(admin_user)
    page = client.get(reverse("admin:courses_lesson_preview", args=[lesson.pk])).content.decode()
    assert "<em>there</em>" in page and "<script>alert(1)" not in page
    change = client.get(reverse("admin:courses_lesson_change", args=[lesson.pk])).content.decode()
    assert "Preview the text above" in change and "aisle/htmx" in change
    html = client.post(
        reverse("admin:courses_lesson_preview_markdown"),
        {"body": "**bold** <img src=x onerror=alert(1)>"},
    ).content.decode()
    assert "<strong>bold</strong>" in html and "onerror" not in html


def test_module_and_course_authoring_pages(client, admin_user, small_course):
    client.force_login(admin_user)
    course_page = client.get(
        reverse("admin:courses_course_change", args=[small_course.course.pk])
    ).content.decode()
    assert "Retrieval" in course_page and 'name="modules-0-order"' in course_page
    module = small_course.lessons[0].module
    module_page = client.get(
        reverse("admin:courses_module_change", args=[module.pk])
    ).content.decode()
    assert 'name="lessons-0-order"' in module_page
    quiz_page = client.get(
        reverse("admin:courses_quiz_change", args=[small_course.quiz.pk])
    ).content.decode()
    assert "choices_text" in quiz_page
    for name in (
        "enrollment",
        "attempt",
        "labattempt",
        "certificate",
        "thread",
        "post",
        "learningpath",
        "lab",
    ):
        assert client.get(reverse(f"admin:courses_{name}_changelist")).status_code == 200, name
