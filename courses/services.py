"""Writes of the Academy: enrolment, progress, quiz grading, labs, certificates and discussion
(the curriculum import/export is ``courses.curriculum_sync``). Every function takes keyword-only
arguments."""

from __future__ import annotations

import logging
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from courses import grading, labs, selectors
from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrollment,
    Lab,
    LabAttempt,
    LabResult,
    LearningPath,
    LearningPathEnrollment,
    Lesson,
    LessonProgress,
    Post,
    Quiz,
    QuizGrant,
    Thread,
)
from platform_core.services import audit_record

logger = logging.getLogger(__name__)


class QuizClosed(PermissionDenied):
    """No more attempts: the quiz is passed, or the retry policy's attempts are used up."""


class LabNotStarted(PermissionDenied):
    """Checking a lab needs a started (active) lab."""


# --- enrolment and progress -------------------------------------------------------------------------


def course_enroll(*, user, course: Course) -> Enrollment:
    """Enrol ``user`` in ``course`` (idempotent)."""
    enrollment, _ = Enrollment.objects.get_or_create(user=user, course=course)
    return enrollment


@transaction.atomic
def path_follow(*, user, path: LearningPath) -> LearningPathEnrollment:
    """Follow a learning path: it appears on the dashboard, and its courses are enrolled."""
    follow, _ = LearningPathEnrollment.objects.get_or_create(user=user, path=path)
    for step in path.steps.select_related("course"):
        course_enroll(user=user, course=step.course)
    return follow


def path_unfollow(*, user, path: LearningPath) -> None:
    LearningPathEnrollment.objects.filter(user=user, path=path).delete()


@transaction.atomic
def lesson_complete(*, user, lesson: Lesson) -> LessonProgress:
    """Mark a lesson complete (idempotent); may complete the course."""
    course = lesson.module.course
    course_enroll(user=user, course=course)
    progress, created = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    if created:
        certificate_issue_if_eligible(user=user, course=course)
    return progress


def lesson_uncomplete(*, user, lesson: Lesson) -> None:
    LessonProgress.objects.filter(user=user, lesson=lesson).delete()


# --- quizzes ----------------------------------------------------------------------------------------


def question_specs(quiz: Quiz) -> list[grading.QuestionSpec]:
    return [
        grading.QuestionSpec(
            id=q.pk,
            kind=q.kind,
            text=q.text,
            choices=q.choices,
            correct=q.correct,
            explanation=q.explanation,
        )
        for q in quiz.questions.order_by("order", "id")
    ]


@transaction.atomic
def quiz_submit(*, user, quiz: Quiz, answers: dict) -> Attempt:
    """Grade and record an attempt. ``answers``: question id → list of choice indexes (the order
    chosen, for ordering questions). Raises :class:`QuizClosed` when the quiz is already passed or
    the retry policy (``max_attempts``, 0 = unlimited) has no attempt left."""
    # Lock the learner's attempts at this quiz so two quick submits cannot both take the last try.
    list(
        Attempt.objects.select_for_update()
        .filter(user=user, quiz=quiz)
        .values_list("pk", flat=True)
    )
    state = selectors.quiz_state(user=user, quiz=quiz)
    if state.passed:
        raise QuizClosed("You have already passed this quiz.")
    if state.locked:
        raise QuizClosed(
            f"No attempts left: this quiz allows {quiz.max_attempts}. "
            "Ask an instructor to grant you another attempt."
        )
    if state.cooling_down:
        wait = max(1, round((state.next_attempt_at - timezone.now()).total_seconds() / 60))
        raise QuizClosed(
            f"Take a break and re-read the lessons: the next attempt opens in {wait} minute"
            f"{'' if wait == 1 else 's'}."
        )
    result = grading.grade(question_specs(quiz), answers, pass_mark=quiz.pass_mark)
    number = (Attempt.objects.filter(user=user, quiz=quiz).aggregate(n=Max("number"))["n"] or 0) + 1
    attempt = Attempt.objects.create(
        quiz=quiz,
        user=user,
        number=number,
        answers={str(r.question_id): r.given for r in result.results},
        feedback=[r.as_dict() for r in result.results],
        score=result.score,
        passed=result.passed,
    )
    course = quiz.module.course
    course_enroll(user=user, course=course)
    if attempt.passed:
        certificate_issue_if_eligible(user=user, course=course)
    return attempt


def quiz_attempts_reset(*, quiz: Quiz, user, actor) -> int:
    """An instructor gives a learner a fresh set of attempts (audited). Passed attempts stay."""
    deleted, _ = Attempt.objects.filter(quiz=quiz, user=user, passed=False).delete()
    audit_record(
        actor=actor,
        action="academy.quiz_attempts_reset",
        obj=quiz,
        details={"learner": user.username, "deleted": deleted},
    )
    return deleted


@transaction.atomic
def quiz_attempts_grant(*, quiz: Quiz, user, actor, extra: int = 1) -> QuizGrant:
    """An operator gives a learner who used every attempt ``extra`` more (audited). Unlike a
    reset, the failed attempts stay in the learner's history."""
    if extra < 1:
        raise ValidationError("Grant at least one attempt.")
    grant = QuizGrant.objects.create(quiz=quiz, user=user, extra_attempts=extra, granted_by=actor)
    audit_record(
        actor=actor,
        action="academy.quiz_attempts_granted",
        obj=quiz,
        details={"learner": user.username, "extra_attempts": extra},
    )
    return grant


# --- labs -------------------------------------------------------------------------------------------


def lab_group_name(lab: Lab) -> str:
    return f"lab:{lab.slug}"[:150]


def lab_permissions(lab: Lab) -> tuple[list[Permission], list[str]]:
    """The Permission rows a lab names, and the names that do not exist (yet) on this platform.
    Permissions in ``labs.NEVER_GRANTED_BY_LABS`` are never granted, whatever the lab says."""
    found, missing = [], []
    for name in lab.permissions:
        if name in labs.NEVER_GRANTED_BY_LABS:
            logger.warning("Lab %s names %s, which no lab may grant; left out.", lab.slug, name)
            continue
        app_label, _, codename = name.partition(".")
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is None:
            missing.append(name)
        else:
            found.append(perm)
    return found, missing


def lab_group_sync(*, lab: Lab) -> Group:
    """The lab's permission group holds exactly the lab's (existing) permissions."""
    group, _ = Group.objects.get_or_create(name=lab_group_name(lab))
    perms, missing = lab_permissions(lab)
    group.permissions.set(perms)
    if missing:
        logger.info(
            "Lab %s names permissions that do not exist yet: %s", lab.slug, ", ".join(missing)
        )
    return group


@transaction.atomic
def lab_start(*, user, lab: Lab) -> LabAttempt:
    """Start a lab: the learner joins the lab's permission group (its permissions only) and, if
    they are not staff, becomes staff for the lab's duration so the admin lets them in; the
    admin scope guard (``courses.admin_access``) keeps them to the lab's pages. Idempotent."""
    current = (
        LabAttempt.objects.select_for_update()
        .filter(user=user, lab=lab, status=LabAttempt.Status.ACTIVE)
        .first()
    )
    if current is not None:
        return current
    group = lab_group_sync(lab=lab)
    user.groups.add(group)
    granted_staff = not user.is_staff
    if granted_staff:
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    attempt = LabAttempt.objects.create(user=user, lab=lab, granted_staff=granted_staff)
    course_enroll(user=user, course=lab.module.course)
    setup = labs.SETUPS.get(lab.check_name)
    if setup is not None:  # what the lab plants on the store for the learner (audited)
        setup(user=user, attempt=attempt)
    audit_record(
        actor=user,
        action="academy.lab_start",
        obj=lab,
        details={
            "attempt": attempt.pk,
            "permissions": lab.permissions,
            "granted_staff": granted_staff,
        },
    )
    return attempt


def _lab_access_end(*, attempt: LabAttempt) -> None:
    user = attempt.user
    group = Group.objects.filter(name=lab_group_name(attempt.lab)).first()
    if group is not None:
        user.groups.remove(group)
    still_granted = (
        LabAttempt.objects.filter(user=user, status=LabAttempt.Status.ACTIVE, granted_staff=True)
        .exclude(pk=attempt.pk)
        .exists()
    )
    if attempt.granted_staff and not still_granted:
        get_user_model().objects.filter(pk=user.pk).update(is_staff=False)
        user.is_staff = False


@transaction.atomic
def lab_check(*, user, lab: Lab, answer: str | None = None) -> LabResult:
    """Run the lab's check against the platform's records and record the result. ``answer``:
    the learner's answer to the lab's question (kept on the attempt, where the check reads it;
    ``None`` keeps the one given before). A pass ends the lab (its permissions and any staff
    access it granted are taken back) and may complete the course."""
    attempt = (
        LabAttempt.objects.select_for_update()
        .filter(user=user, lab=lab, status=LabAttempt.Status.ACTIVE)
        .first()
    )
    if attempt is None:
        raise LabNotStarted(
            "Start the lab first: the check only counts what you do after starting it."
        )
    if answer is not None and lab.question:
        attempt.answer = " ".join(answer.split())[:200]
        attempt.save(update_fields=["answer"])
    outcome = labs.run_check(lab.check_name, user=user, started_at=attempt.started_at)
    result = LabResult.objects.create(
        attempt=attempt, passed=outcome.passed, items=[list(item) for item in outcome.items]
    )
    if outcome.passed:
        attempt.status = LabAttempt.Status.PASSED
        attempt.ended_at = timezone.now()
        attempt.save(update_fields=["status", "ended_at"])
        _lab_access_end(attempt=attempt)
        audit_record(
            actor=user, action="academy.lab_passed", obj=lab, details={"attempt": attempt.pk}
        )
        certificate_issue_if_eligible(user=user, course=lab.module.course)
    return result


@transaction.atomic
def lab_leave(*, user, lab: Lab) -> LabAttempt | None:
    """Leave a lab without passing it: its permissions (and granted staff access) are taken back."""
    attempt = (
        LabAttempt.objects.select_for_update()
        .filter(user=user, lab=lab, status=LabAttempt.Status.ACTIVE)
        .first()
    )
    if attempt is None:
        return None
    attempt.status = LabAttempt.Status.LEFT
    attempt.ended_at = timezone.now()
    attempt.save(update_fields=["status", "ended_at"])
    _lab_access_end(attempt=attempt)
    teardown = labs.TEARDOWNS.get(lab.check_name)
    if teardown is not None:  # take back what the lab planted and is still there
        teardown(user=user, attempt=attempt)
    audit_record(actor=user, action="academy.lab_leave", obj=lab, details={"attempt": attempt.pk})
    return attempt


# --- certificates -----------------------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed


def certificate_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"AISLE-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@transaction.atomic
def certificate_revoke(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """Revoke a certificate (audited; the reason is shown on its public page). The course gate
    stops counting it and the learner is not issued a new one automatically."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the certificate is revoked: the verification page shows it.")
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.revoked:
        return certificate
    certificate.revoked_at, certificate.revoked_by = timezone.now(), actor
    certificate.revoke_reason = reason[:2000]
    certificate.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor,
        action="academy.certificate_revoked",
        obj=certificate,
        details={"code": certificate.code, "learner": certificate.user.username, "reason": reason},
    )
    return certificate


def certificate_issue_if_eligible(*, user, course: Course) -> Certificate | None:
    """Issue the course certificate once every lesson is complete and every quiz and lab passed.
    Returns the (new or existing) certificate, or None when requirements are not met."""
    existing = Certificate.objects.filter(user=user, course=course).first()
    if existing is not None:
        return existing
    if not selectors.course_requirements_met(user=user, course=course):
        return None
    name = user.get_full_name().strip() or user.username
    for _ in range(5):
        try:
            with transaction.atomic():
                certificate = Certificate.objects.create(
                    user=user,
                    course=course,
                    code=certificate_code(),
                    learner_name=name,
                    course_title=course.title,
                )
            break
        except IntegrityError:
            existing = Certificate.objects.filter(user=user, course=course).first()
            if existing is not None:  # a concurrent request issued it
                return existing
    else:  # pragma: no cover — five collisions of a 60-bit code
        raise RuntimeError("Could not allocate a unique certificate code.")
    Enrollment.objects.filter(user=user, course=course).update(completed_at=certificate.issued_at)
    audit_record(
        actor=user,
        action="academy.certificate_issued",
        obj=certificate,
        details={"course": course.slug, "code": certificate.code},
    )
    return certificate


# --- discussion -------------------------------------------------------------------------------------

MAX_POST_LENGTH = 10_000


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something first.")
    if len(body) > MAX_POST_LENGTH:
        raise ValidationError(f"Posts are limited to {MAX_POST_LENGTH:,} characters.")
    return body


@transaction.atomic
def thread_create(*, user, lesson: Lesson, title: str, body: str) -> Thread:
    """Open a discussion under a lesson with its first post. Stored as written; always
    sanitised when displayed (``courses.rendering.render_post``)."""
    title = (title or "").strip()
    if not title:
        raise ValidationError("Give the thread a title.")
    thread = Thread.objects.create(lesson=lesson, author=user, title=title[:200])
    Post.objects.create(thread=thread, author=user, body=_clean_body(body))
    return thread


@transaction.atomic
def post_create(*, user, thread: Thread, body: str) -> Post:
    post = Post.objects.create(thread=thread, author=user, body=_clean_body(body))
    Thread.objects.filter(pk=thread.pk).update(last_post_at=post.created_at)
    return post


def post_hide(*, post: Post, actor) -> None:
    """Moderation: hide a post (kept for the record, audited)."""
    post.hidden = True
    post.save(update_fields=["hidden"])
    audit_record(
        actor=actor, action="academy.post_hide", obj=post, details={"thread": post.thread_id}
    )
