from django.apps import AppConfig


class CoursesConfig(AppConfig):
    """The Academy: courses, lessons, quizzes, labs, progress, certificates, discussion."""

    name = "courses"
    verbose_name = "Academy"

    def ready(self) -> None:
        from django.contrib import admin

        from courses import admin_access

        # Learners in a lab are staff only for that lab's pages (see courses.admin_access).
        admin_access.install(admin.site)
