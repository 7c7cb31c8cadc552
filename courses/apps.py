from django.apps import AppConfig


class CoursesConfig(AppConfig):
    """The Academy: courses, lessons, quizzes, labs, progress, certificates, discussion."""

    name = "courses"
    verbose_name = "Academy"
