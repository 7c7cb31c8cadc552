"""The Academy: courses, lessons, quizzes, labs, progress, certificates and discussion.

Curriculum rows (Course → Module → Lesson / Quiz → Question / Lab, LearningPath) are loaded from
``courses/curriculum`` by ``manage.py academy_load`` and edited in the admin; learner rows
(Enrollment, LessonProgress, Attempt, LabAttempt, LabResult, Certificate, Thread, Post) are written
by ``courses.services`` only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Level(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class Course(models.Model):
    """A course: ordered modules of lessons, a quiz per module and optional labs."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.BEGINNER)
    pass_mark = models.PositiveSmallIntegerField(
        default=70,
        help_text="Default pass mark (percent) for this course's quizzes that do not set their own.",
    )
    roles = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Job roles the course is written for (merchandiser, analyst, developer).",
    )
    order = models.PositiveIntegerField(default=0, help_text="Position in the catalogue.")
    published = models.BooleanField(
        default=True, help_text="Unpublished courses are hidden from learners."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "title"]

    def __str__(self) -> str:
        return self.title


class Module(models.Model):
    """A chapter of a course: a few lessons, then a quiz and possibly a lab."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["course", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="courses_module_slug_unique")
        ]

    def __str__(self) -> str:
        return f"{self.course.title} · {self.title}"


class Lesson(models.Model):
    """A page of teaching text in Markdown (rendered and sanitised for display)."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(
        help_text="Markdown. Raw HTML is sanitised when the lesson is displayed."
    )
    minutes = models.PositiveSmallIntegerField(default=5, help_text="Estimated reading time.")
    order = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["module", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["module", "slug"], name="courses_lesson_slug_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Quiz(models.Model):
    """The end-of-module check. ``max_attempts`` 0 means unlimited retries; an operator can grant
    a learner more (:class:`QuizGrant`). After a failed attempt the next one opens
    ``cooldown_minutes`` later."""

    module = models.OneToOneField(Module, on_delete=models.CASCADE, related_name="quiz")
    title = models.CharField(max_length=200)
    pass_mark = models.PositiveSmallIntegerField(
        default=70, help_text="Percent of questions answered exactly right."
    )
    max_attempts = models.PositiveSmallIntegerField(default=0, help_text="0 = unlimited attempts.")
    cooldown_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text="Minutes a learner waits after a failed attempt before the next one (0 = none).",
    )

    class Meta:
        verbose_name_plural = "quizzes"
        ordering = ["module__course", "module__order"]

    def __str__(self) -> str:
        return self.title


class QuestionKind(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    ORDERING = "ordering", "Ordering"


class Question(models.Model):
    """A quiz question. ``choices`` is a list of strings; ``correct`` the 0-based indexes of the
    right choices (single: one; multiple: a set; ordering: the right order, so the choices are
    stored in the right order and ``correct`` is ``[0, 1, …]``)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(
        max_length=16, choices=QuestionKind.choices, default=QuestionKind.SINGLE
    )
    text = models.TextField()
    choices = models.JSONField(default=list)
    correct = models.JSONField(default=list)
    explanation = models.TextField(blank=True, help_text="Shown after answering.")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["quiz", "order", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class Attempt(models.Model):
    """One submitted quiz. ``feedback`` keeps the graded questions as they were answered, so the
    history stays readable after the quiz is edited."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    number = models.PositiveIntegerField(default=1)
    answers = models.JSONField(default=dict)
    feedback = models.JSONField(default=list)
    score = models.FloatField(help_text="Percent of questions answered exactly right.")
    passed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The admin's "reset attempts" action deletes a learner's failed attempts: no role holds it
        # (superusers, or a user it is given to by hand); see docs/academy.md.
        permissions = [("reset_attempt", "Can reset a learner's failed quiz attempts")]
        indexes = [models.Index(fields=["user", "quiz"])]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "user", "number"], name="courses_attempt_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.quiz} #{self.number} ({self.score:.0f}%)"


class QuizGrant(models.Model):
    """Extra attempts an operator granted a learner who used all of a quiz's attempts. The
    attempts themselves are kept (unlike a reset), so the history stays readable."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_grants"
    )
    extra_attempts = models.PositiveSmallIntegerField(default=1)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "quiz"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.quiz}: +{self.extra_attempts}"


class Lab(models.Model):
    """A hands-on task done in the real admin / API / CLI, checked by a registered check
    (``courses.labs``) that reads the platform's own records. Starting a lab grants the listed
    permissions (``app_label.codename``) to the learner until the lab is passed or left."""

    module = models.OneToOneField(Module, on_delete=models.CASCADE, related_name="lab")
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    # Not called ``check``: that would shadow Model.check(), which the system checks call.
    check_name = models.CharField(
        max_length=80, help_text="Name of a check registered in courses.labs."
    )
    permissions = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    instructions = models.TextField(help_text="Markdown.")
    question = models.CharField(
        max_length=300,
        blank=True,
        help_text="A question the learner answers beside “Run the check” (the check reads the "
        "answer); blank: none.",
    )

    class Meta:
        ordering = ["module__course", "module__order"]

    def __str__(self) -> str:
        return self.title


class LabAttempt(models.Model):
    """A learner's run at a lab, from start to pass (or leaving it). While ``active``, the learner
    is in the lab's permission group; ``granted_staff`` records that the lab (not an operator)
    made them staff, so ending the lab takes it back."""

    class Status(models.TextChoices):
        ACTIVE = "active", "in progress"
        PASSED = "passed", "passed"
        LEFT = "left", "left without passing"

    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_attempts"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    granted_staff = models.BooleanField(default=False)
    answer = models.CharField(
        max_length=200, blank=True, help_text="The learner's answer to the lab's question."
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "user"],
                condition=Q(status="active"),
                name="courses_one_active_lab_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.lab} ({self.status})"


class LabResult(models.Model):
    """One run of a lab's check: what passed and what is missing (``items``: label, ok, detail)."""

    attempt = models.ForeignKey(LabAttempt, on_delete=models.CASCADE, related_name="results")
    passed = models.BooleanField()
    items = models.JSONField(default=list)
    checked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.attempt} check {'passed' if self.passed else 'not yet'}"


class Enrollment(models.Model):
    """A learner taking a course; ``completed_at`` is set when the certificate is issued."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    enrolled_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="courses_enrollment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"


class LessonProgress(models.Model):
    """A lesson the learner marked complete."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="courses_lesson_progress_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} completed {self.lesson}"


class Certificate(models.Model):
    """Proof that a learner passed a course; anyone can verify it at /academy/certificates/<code>/."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    code = models.CharField(max_length=32, unique=True, editable=False)
    learner_name = models.CharField(
        max_length=200, help_text="The name printed on the certificate."
    )
    course_title = models.CharField(
        max_length=200, help_text="The course title when it was issued."
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="courses_certificate_unique")
        ]
        # Revoking (an audited admin action) is its own permission, held by no role: superusers,
        # or a user it is given to by hand.
        permissions = [("revoke_certificate", "Can revoke a learner's certificate")]

    def __str__(self) -> str:
        return f"{self.code} · {self.learner_name} · {self.course_title}"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class LearningPath(models.Model):
    """An ordered set of courses for a job role (merchandiser, analyst, developer)."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    role = models.CharField(max_length=40, db_index=True)
    summary = models.TextField(blank=True)
    courses = models.ManyToManyField(Course, through="LearningPathCourse", related_name="paths")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class LearningPathCourse(models.Model):
    """A course's place in a learning path."""

    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="steps")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    order = models.PositiveIntegerField(default=0)
    modules = models.JSONField(
        default=list,
        blank=True,
        help_text="Slugs of the course's modules this path takes (empty: every module).",
    )

    class Meta:
        ordering = ["path", "order"]
        constraints = [
            models.UniqueConstraint(fields=["path", "course"], name="courses_path_course_unique")
        ]

    def __str__(self) -> str:
        return f"{self.path} · {self.order}. {self.course}"


class LearningPathEnrollment(models.Model):
    """A learner following a learning path (the dashboard shows the paths they follow)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="path_enrollments"
    )
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="enrollments")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "path"], name="courses_path_enrollment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.path}"


class Thread(models.Model):
    """A discussion topic under a lesson."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="threads")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    last_post_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_post_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    """A message in a thread (Markdown; sanitised when displayed)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} in {self.thread}"
