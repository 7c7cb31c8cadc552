"""Quiz submission (retry policy, feedback), certificate issuing, the course gate and the public
verification page."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from courses import selectors, services
from courses.gate import CourseGateError, check_course_gate
from courses.models import Attempt, Certificate, Enrollment, LabAttempt
from tests.courses.conftest import build_course, right_answers, wrong_answers

pytestmark = pytest.mark.django_db


def _pass_lab(user, lab):
    """Mark the lab passed the way the service does after a successful check."""
    attempt = services.lab_start(user=user, lab=lab)
    LabAttempt.objects.filter(pk=attempt.pk).update(
        status=LabAttempt.Status.PASSED, ended_at=timezone.now()
    )


def test_failed_then_passed_attempt_with_feedback(learner_user, small_course):
    quiz = small_course.quiz
    first = services.quiz_submit(user=learner_user, quiz=quiz, answers=wrong_answers(quiz))
    assert (first.number, first.passed, first.score) == (1, False, 0.0)
    assert [f["correct"] for f in first.feedback] == [False, False, False]
    assert first.feedback[0]["explanation"] and first.feedback[0]["expected_text"] == ["yes"]

    answers = right_answers(quiz)
    multiple = quiz.questions.get(kind="multiple")
    answers[multiple.pk] = [0]  # 2 of 3 right = 66.7% < 70
    second = services.quiz_submit(user=learner_user, quiz=quiz, answers=answers)
    assert second.passed is False and second.score == pytest.approx(66.67)

    third = services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz))
    assert (third.number, third.passed, third.score) == (3, True, 100.0)
    assert Enrollment.objects.filter(user=learner_user, course=small_course.course).exists()
    with pytest.raises(services.QuizClosed, match="already passed"):
        services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz))


def test_retry_policy_limits_attempts(learner_user, db):
    sc = build_course(slug="limited", max_attempts=2)
    for _ in range(2):
        services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=wrong_answers(sc.quiz))
    state = selectors.quiz_state(user=learner_user, quiz=sc.quiz)
    assert state.locked and state.attempts_left == 0 and not state.can_attempt
    with pytest.raises(services.QuizClosed, match="No attempts left"):
        services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    assert Attempt.objects.filter(user=learner_user, quiz=sc.quiz).count() == 2

    services.quiz_attempts_reset(quiz=sc.quiz, user=learner_user, actor=None)
    attempt = services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    assert attempt.passed


def test_certificate_needs_every_lesson_quiz_and_lab(learner_user, small_course):
    sc = small_course
    services.lesson_complete(user=learner_user, lesson=sc.lessons[0])
    services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    _pass_lab(learner_user, sc.lab)
    assert (
        services.certificate_issue_if_eligible(user=learner_user, course=sc.course) is None
    )  # lesson 2 missing
    assert not selectors.course_passed(user=learner_user, course_slug=sc.course.slug)

    services.lesson_complete(
        user=learner_user, lesson=sc.lessons[1]
    )  # the last requirement issues it
    certificate = Certificate.objects.get(user=learner_user, course=sc.course)
    assert certificate.code.startswith("AISLE-") and len(certificate.code) == 20
    assert certificate.course_title == "Search basics"
    assert selectors.course_passed(user=learner_user, course_slug=sc.course.slug)
    assert Enrollment.objects.get(user=learner_user, course=sc.course).completed_at is not None
    # idempotent: the same certificate again
    assert (
        services.certificate_issue_if_eligible(user=learner_user, course=sc.course) == certificate
    )


def test_lab_must_be_passed_for_the_certificate(learner_user, small_course):
    sc = small_course
    for lesson in sc.lessons:
        services.lesson_complete(user=learner_user, lesson=lesson)
    services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    services.lab_start(user=learner_user, lab=sc.lab)  # started is not passed
    assert not Certificate.objects.filter(user=learner_user).exists()


def test_course_passed_for_other_users_and_courses(learner_user, operator_user, small_course):
    assert not selectors.course_passed(user=None, course_slug=small_course.course.slug)
    Certificate.objects.create(
        user=learner_user,
        course=small_course.course,
        code="AISLE-TEST-TEST-TEST",
        learner_name="L",
        course_title="Search basics",
    )
    assert selectors.course_passed(user=learner_user, course_slug="search-basics")
    assert not selectors.course_passed(user=learner_user, course_slug="another-course")
    assert not selectors.course_passed(user=operator_user, course_slug="search-basics")


def test_course_gate_uses_course_passed(operator_user, small_course):
    with override_settings(PROMOTION_REQUIRED_COURSE=""):
        check_course_gate(operator_user, action="promote a model version")  # gate off
    with override_settings(PROMOTION_REQUIRED_COURSE="search-basics"):
        with pytest.raises(CourseGateError, match="search-basics"):
            check_course_gate(operator_user, action="promote a model version")
        Certificate.objects.create(
            user=operator_user,
            course=small_course.course,
            code="AISLE-GATE-GATE-GATE",
            learner_name="O",
            course_title="Search basics",
        )
        check_course_gate(operator_user, action="promote a model version")


def test_public_verification_page(client, learner_user, small_course):
    learner_user.first_name, learner_user.last_name = "Ada", "Lovelace"
    learner_user.save()
    sc = small_course
    for lesson in sc.lessons:
        services.lesson_complete(user=learner_user, lesson=lesson)
    services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    _pass_lab(learner_user, sc.lab)
    certificate = services.certificate_issue_if_eligible(user=learner_user, course=sc.course)

    response = client.get(reverse("academy:certificate", args=[certificate.code]))  # anonymous
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        "Ada Lovelace" in body
        and "Search basics" in body
        and certificate.code in body
        and "Verified" in body
    )
    lower = client.get(reverse("academy:certificate", args=[certificate.code.lower()]))
    assert lower.status_code == 200
    missing = client.get(reverse("academy:certificate", args=["AISLE-NOPE-NOPE-NOPE"]))
    assert (
        missing.status_code == 404 and "No certificate with this code" in missing.content.decode()
    )


def test_a_revoked_certificate_says_so_and_no_longer_opens_the_gate(
    client, learner_user, operator_user, small_course
):
    from django.contrib.auth.models import Permission

    from platform_core.models import AuditLog

    sc = small_course
    for lesson in sc.lessons:
        services.lesson_complete(user=learner_user, lesson=lesson)
    services.quiz_submit(user=learner_user, quiz=sc.quiz, answers=right_answers(sc.quiz))
    _pass_lab(learner_user, sc.lab)
    certificate = services.certificate_issue_if_eligible(user=learner_user, course=sc.course)
    assert selectors.course_passed(user=learner_user, course_slug=sc.course.slug)

    changelist = reverse("admin:courses_certificate_changelist")
    client.force_login(operator_user)  # no revoke permission: the action is not offered
    assert 'value="revoke"' not in client.get(changelist).content.decode()
    operator_user.user_permissions.add(Permission.objects.get(codename="revoke_certificate"))
    client.force_login(operator_user)
    action = {"action": "revoke", "_selected_action": [certificate.pk], "reason": ""}
    client.post(changelist, action)
    certificate.refresh_from_db()
    assert not certificate.revoked  # a revocation needs its reason
    client.post(changelist, {**action, "reason": "Quiz answers shared in the team chat"})
    certificate.refresh_from_db()
    assert certificate.revoked and certificate.revoked_by == operator_user
    assert AuditLog.objects.filter(action="academy.certificate_revoked").count() == 1

    client.logout()
    page = client.get(reverse("academy:certificate", args=[certificate.code])).content.decode()
    assert "Revoked: this certificate is no longer valid" in page
    assert "Quiz answers shared in the team chat" in page and "is genuine" not in page
    assert not selectors.course_passed(user=learner_user, course_slug=sc.course.slug)
    assert services.certificate_issue_if_eligible(user=learner_user, course=sc.course).revoked
