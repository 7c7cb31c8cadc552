"""Factories for courses (the Academy)."""

import factory

from courses.models import Course, Lab, Lesson, Module, Question, Quiz

__all__ = [
    "CourseFactory",
    "LabFactory",
    "LessonFactory",
    "ModuleFactory",
    "QuestionFactory",
    "QuizFactory",
]

LESSON_BODY = (
    "# A lesson\n\nEmbeddings map **text** to vectors. "
    + "Cosine similarity compares them. " * 40
    + "\n\n- lexical\n- semantic\n"
)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Course {n}")
    summary = "A course about search."
    level = "beginner"
    pass_mark = 70
    roles = factory.LazyFunction(lambda: ["merchandiser"])


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    course = factory.SubFactory(CourseFactory)
    slug = factory.Sequence(lambda n: f"module-{n}")
    title = factory.Sequence(lambda n: f"Module {n}")
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    module = factory.SubFactory(ModuleFactory)
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    title = factory.Sequence(lambda n: f"Lesson {n}")
    body = LESSON_BODY
    minutes = 6
    order = factory.Sequence(lambda n: n)


class QuizFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quiz

    module = factory.SubFactory(ModuleFactory)
    title = factory.LazyAttribute(lambda q: f"{q.module.title} check")
    pass_mark = 70
    max_attempts = 0


class QuestionFactory(factory.django.DjangoModelFactory):
    """Defaults to a single-choice question whose answer is choice 1."""

    class Meta:
        model = Question

    quiz = factory.SubFactory(QuizFactory)
    kind = "single"
    text = factory.Sequence(lambda n: f"Question {n}?")
    choices = factory.LazyFunction(lambda: ["wrong", "right", "also wrong"])
    correct = factory.LazyFunction(lambda: [1])
    explanation = "Because the second choice is right."
    order = factory.Sequence(lambda n: n)


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab

    module = factory.SubFactory(ModuleFactory)
    slug = factory.Sequence(lambda n: f"lab-{n}")
    title = factory.Sequence(lambda n: f"Lab {n}")
    check_name = "catalog_import_fixed"
    permissions = factory.LazyFunction(
        lambda: ["catalog.view_product", "catalog.add_importrun", "catalog.view_importrun"]
    )
    instructions = "Do the thing in the admin."
