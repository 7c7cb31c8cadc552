"""The course gate: a setting names a course that must be passed before a user may promote
model versions (Training) or start / ship experiments (Experiments). Never applied to stopping."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied


class CourseGateError(PermissionDenied):
    """The user has not passed the course that PROMOTION_REQUIRED_COURSE names."""


def check_course_gate(user, *, action: str) -> None:
    """Raise :class:`CourseGateError` unless the gate is off or ``user`` passed the course."""
    slug = settings.PROMOTION_REQUIRED_COURSE
    if not slug:
        return
    from courses.selectors import course_passed  # the Academy decides what "passed" means

    if user is None or not course_passed(user=user, course_slug=slug):
        raise CourseGateError(
            f"To {action} you must first pass the Academy course “{slug}” (setting PROMOTION_REQUIRED_COURSE)."
        )
