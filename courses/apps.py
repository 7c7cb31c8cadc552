from django.apps import AppConfig


class CoursesConfig(AppConfig):
    """The Academy: courses, lessons, quizzes, labs, progress, certificates, discussion."""

    name = "courses"
    verbose_name = "Academy"

    def ready(self) -> None:
        from courses import (
            labs_operations,  # noqa: F401 (registers the operations labs' checks)
            labs_platform,  # noqa: F401 (reliability, efficiency, drafted copy)
            labs_visual,  # noqa: F401 (search by image)
        )
