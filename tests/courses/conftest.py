"""Fixtures of the Academy tests: a small course with a lesson, a quiz and a lab."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from courses.models import Course, Lab, Lesson, Quiz
from tests.courses.lab_store import (  # noqa: F401  (the labs' store, built once a session)
    _lab_snapshots,
    lab_store,
    lab_store_embedded,
)
from tests.factories import (
    CourseFactory,
    LabFactory,
    LessonFactory,
    ModuleFactory,
    QuestionFactory,
    QuizFactory,
)


@dataclass
class SmallCourse:
    course: Course
    lessons: list[Lesson]
    quiz: Quiz
    lab: Lab | None


def build_course(
    *,
    slug: str = "search-basics",
    max_attempts: int = 0,
    with_lab: bool = True,
    check_name: str = "catalog_import_fixed",
) -> SmallCourse:
    course = CourseFactory(slug=slug, title="Search basics")
    module = ModuleFactory(course=course, slug="retrieval", title="Retrieval", order=1)
    lessons = [
        LessonFactory(module=module, slug=f"lesson-{n}", title=f"Lesson {n}", order=n)
        for n in (1, 2)
    ]
    quiz = QuizFactory(
        module=module, title="Retrieval check", pass_mark=70, max_attempts=max_attempts
    )
    QuestionFactory(
        quiz=quiz,
        kind="single",
        text="Which is right?",
        choices=["no", "yes", "maybe"],
        correct=[1],
        order=1,
    )
    QuestionFactory(
        quiz=quiz,
        kind="multiple",
        text="Pick the vectors",
        choices=["cosine", "BM25", "dot"],
        correct=[0, 2],
        order=2,
    )
    QuestionFactory(
        quiz=quiz,
        kind="ordering",
        text="Order the pipeline",
        choices=["mine", "split", "train", "evaluate"],
        correct=[0, 1, 2, 3],
        order=3,
    )
    lab = LabFactory(module=module, slug="import-lab", check_name=check_name) if with_lab else None
    return SmallCourse(course=course, lessons=lessons, quiz=quiz, lab=lab)


def right_answers(quiz: Quiz) -> dict:
    return {q.pk: list(q.correct) for q in quiz.questions.all()}


def wrong_answers(quiz: Quiz) -> dict:
    return {q.pk: [] for q in quiz.questions.all()}


@pytest.fixture
def small_course(db) -> SmallCourse:
    return build_course()


@pytest.fixture
def learner_client(client, learner_user):
    client.force_login(learner_user)
    return client


def quiz_form(quiz: Quiz, user, answers: dict) -> dict:
    """POST data of the quiz form for ``answers`` (question id → choice indexes, in order for
    ordering questions), with the opaque per-learner names and values the form uses."""
    from django.conf import settings

    from courses import grading

    data: dict = {}
    for q in quiz.questions.all():
        token = [
            grading.choice_token(settings.SECRET_KEY, str(user.pk), q.pk, i)
            for i in range(len(q.choices))
        ]
        given = answers.get(q.pk, [])
        if q.kind == "ordering":
            data.update({f"q{q.pk}_{token[i]}": str(pos) for pos, i in enumerate(given, start=1)})
        else:
            data[f"q{q.pk}"] = [token[i] for i in given]
    return data
