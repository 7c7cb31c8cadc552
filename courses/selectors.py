"""Reads of the Academy: the course gate, progress, outlines, the dashboard, reports, queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrollment,
    Lab,
    LabAttempt,
    LabResult,
    LearningPath,
    LearningPathCourse,
    Lesson,
    LessonProgress,
    Module,
    Post,
    Quiz,
    QuizGrant,
    Thread,
)


def course_passed(*, user, course_slug: str) -> bool:
    """The course gate (``courses.gate``): True when ``user`` holds the course's certificate,
    i.e. completed every lesson and passed every quiz and lab of it."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Certificate.objects.filter(
        user=user, course__slug=course_slug, revoked_at__isnull=True
    ).exists()


def published_courses() -> QuerySet[Course]:
    return Course.objects.filter(published=True)


def course_for_learner(slug: str) -> Course:
    return published_courses().get(slug=slug)


# --- progress ---------------------------------------------------------------------------------------


@dataclass
class Step:
    """One thing to do in a course, in order: a lesson, a module's quiz or its lab."""

    kind: str  # lesson | quiz | lab
    title: str
    done: bool
    module: Module
    lesson: Lesson | None = None
    quiz: Quiz | None = None
    lab: Lab | None = None
    minutes: int = 0


@dataclass
class ModuleOutline:
    module: Module
    steps: list[Step]

    @property
    def done(self) -> bool:
        return all(s.done for s in self.steps)


@dataclass
class CourseProgress:
    course: Course
    modules: list[ModuleOutline] = field(default_factory=list)
    certificate: Certificate | None = None
    enrolled: bool = False

    @property
    def steps(self) -> list[Step]:
        return [s for m in self.modules for s in m.steps]

    def count(self, kind: str, *, done: bool | None = None) -> int:
        return sum(1 for s in self.steps if s.kind == kind and (done is None or s.done == done))

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def completed(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def percent(self) -> int:
        return round(100 * self.completed / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.completed == self.total

    @property
    def next_step(self) -> Step | None:
        return next((s for s in self.steps if not s.done), None)

    @property
    def lesson_count(self) -> int:
        return self.count("lesson")

    @property
    def quiz_count(self) -> int:
        return self.count("quiz")

    @property
    def lab_count(self) -> int:
        return self.count("lab")

    @property
    def total_minutes(self) -> int:
        return sum(s.minutes for s in self.steps if s.kind == "lesson")

    @property
    def minutes_left(self) -> int:
        return sum(s.minutes for s in self.steps if not s.done)


def for_path_step(progress: CourseProgress, modules: list[str]) -> CourseProgress:
    """A course's progress as a learning path sees it: only the modules the path takes from it
    (``LearningPathCourse.modules``; empty = all). The certificate stays the course's own."""
    if not modules:
        return progress
    wanted = set(modules)
    return CourseProgress(
        course=progress.course,
        modules=[m for m in progress.modules if m.module.slug in wanted],
        certificate=progress.certificate,
        enrolled=progress.enrolled,
    )


def _course_tree(course_ids) -> QuerySet[Course]:
    return Course.objects.filter(pk__in=course_ids).prefetch_related(
        Prefetch(
            "modules",
            queryset=Module.objects.order_by("order", "id").prefetch_related(
                Prefetch("lessons", queryset=Lesson.objects.order_by("order", "id").defer("body"))
            ),
        ),
        Prefetch(
            "modules__quiz", queryset=Quiz.objects.annotate(question_count=Count("questions"))
        ),
        "modules__lab",
    )


def courses_progress(*, user, courses=None, course_ids=None) -> dict[int, CourseProgress]:
    """Progress of ``user`` in each course (``courses`` or ``course_ids``), in a fixed number of
    queries for any number of courses."""
    course_ids = list(course_ids) if course_ids is not None else [c.pk for c in courses]
    tree = list(_course_tree(course_ids))
    done_lessons: set[int] = set()
    passed_quizzes: set[int] = set()
    passed_labs: set[int] = set()
    certificates: dict[int, Certificate] = {}
    enrolled: set[int] = set()
    if user is not None and user.is_authenticated:
        done_lessons = set(
            LessonProgress.objects.filter(
                user=user, lesson__module__course_id__in=course_ids
            ).values_list("lesson_id", flat=True)
        )
        passed_quizzes = set(
            Attempt.objects.filter(
                user=user, passed=True, quiz__module__course_id__in=course_ids
            ).values_list("quiz_id", flat=True)
        )
        passed_labs = set(
            LabAttempt.objects.filter(
                user=user, status=LabAttempt.Status.PASSED, lab__module__course_id__in=course_ids
            ).values_list("lab_id", flat=True)
        )
        certificates = {
            c.course_id: c for c in Certificate.objects.filter(user=user, course_id__in=course_ids)
        }
        enrolled = set(
            Enrollment.objects.filter(user=user, course_id__in=course_ids).values_list(
                "course_id", flat=True
            )
        )
    out: dict[int, CourseProgress] = {}
    for course in tree:
        progress = CourseProgress(
            course=course, certificate=certificates.get(course.pk), enrolled=course.pk in enrolled
        )
        for module in course.modules.all():
            steps = [
                Step(
                    "lesson",
                    lesson.title,
                    lesson.pk in done_lessons,
                    module,
                    lesson=lesson,
                    minutes=lesson.minutes,
                )
                for lesson in module.lessons.all()
            ]
            quiz = getattr(module, "quiz", None)
            if quiz is not None:
                steps.append(
                    Step(
                        "quiz",
                        quiz.title,
                        quiz.pk in passed_quizzes,
                        module,
                        quiz=quiz,
                        minutes=max(2, getattr(quiz, "question_count", 5)),
                    )
                )
            lab = getattr(module, "lab", None)
            if lab is not None:
                steps.append(
                    Step("lab", lab.title, lab.pk in passed_labs, module, lab=lab, minutes=30)
                )
            progress.modules.append(ModuleOutline(module=module, steps=steps))
        out[course.pk] = progress
    return out


def course_progress(*, user, course: Course) -> CourseProgress:
    return courses_progress(user=user, courses=[course])[course.pk]


def course_requirements_met(*, user, course: Course) -> bool:
    """Every lesson complete, every quiz passed and every lab passed (the certificate rule)."""
    lessons = Lesson.objects.filter(module__course=course)
    quizzes = Quiz.objects.filter(module__course=course)
    labs = Lab.objects.filter(module__course=course)
    if not lessons.exists():
        return False
    return (
        not lessons.exclude(
            Exists(LessonProgress.objects.filter(user=user, lesson=OuterRef("pk")))
        ).exists()
        and not quizzes.exclude(
            Exists(Attempt.objects.filter(user=user, passed=True, quiz=OuterRef("pk")))
        ).exists()
        and not labs.exclude(
            Exists(
                LabAttempt.objects.filter(
                    user=user, status=LabAttempt.Status.PASSED, lab=OuterRef("pk")
                )
            )
        ).exists()
    )


# --- dashboard --------------------------------------------------------------------------------------

ROLE_TO_PATH = {"operator": "merchandiser", "analyst": "analyst"}


@dataclass
class PathProgress:
    path: LearningPath
    courses: list[CourseProgress]
    following: bool

    @property
    def percent(self) -> int:
        total = sum(c.total for c in self.courses)
        return round(100 * sum(c.completed for c in self.courses) / total) if total else 0

    @property
    def certificates(self) -> int:
        return sum(1 for c in self.courses if c.certificate)

    @property
    def next_course(self) -> CourseProgress | None:
        return next((c for c in self.courses if not c.complete), None)


def paths_with_courses() -> QuerySet[LearningPath]:
    return LearningPath.objects.prefetch_related(
        Prefetch(
            "steps",
            queryset=LearningPathCourse.objects.filter(course__published=True)
            .select_related("course")
            .order_by("order"),
        )
    )


def suggested_path_slug(user) -> str | None:
    roles = getattr(user, "roles", set()) or set()
    for role, slug in ROLE_TO_PATH.items():
        if role in roles:
            return slug
    return None


@dataclass
class Dashboard:
    paths: list[PathProgress]
    other_paths: list[LearningPath]
    enrolled: list[CourseProgress]
    next_step: tuple[CourseProgress, Step] | None
    certificates: list[Certificate]
    active_labs: list[LabAttempt]
    #: False for a learner who has not started anything yet (no course, path or lab): the
    #: dashboard greets them as new rather than "welcome back"
    returning: bool = True


def dashboard(*, user) -> Dashboard:
    """The learner's home: paths they follow (with course progress), courses they are enrolled
    in, the next thing to do, certificates and labs in progress."""
    followed = set(user.path_enrollments.values_list("path_id", flat=True))
    all_paths = list(paths_with_courses())
    mine = [p for p in all_paths if p.pk in followed]
    other = [p for p in all_paths if p.pk not in followed]
    enrolled_ids = list(
        Enrollment.objects.filter(user=user)
        .order_by("enrolled_at")
        .values_list("course_id", flat=True)
    )
    course_ids = set(enrolled_ids) | {s.course_id for p in mine for s in p.steps.all()}
    progress = courses_progress(user=user, course_ids=course_ids)
    progress = {pk: cp for pk, cp in progress.items() if cp.course.published}
    path_progress = [
        PathProgress(
            path=p,
            courses=[
                for_path_step(progress[s.course_id], s.modules)
                for s in p.steps.all()
                if s.course_id in progress
            ],
            following=True,
        )
        for p in mine
    ]
    enrolled = [progress[cid] for cid in enrolled_ids if cid in progress]
    next_step = None
    ordered = [c for pp in path_progress for c in pp.courses] + enrolled
    for cp in ordered:
        if cp.enrolled and cp.next_step is not None:
            next_step = (cp, cp.next_step)
            break
    if next_step is None:
        for cp in ordered:
            if cp.next_step is not None:
                next_step = (cp, cp.next_step)
                break
    suggested = suggested_path_slug(user)
    other.sort(key=lambda p: (p.slug != suggested, p.title))
    return Dashboard(
        paths=path_progress,
        other_paths=other,
        enrolled=enrolled,
        next_step=next_step,
        certificates=list(Certificate.objects.filter(user=user).select_related("course")),
        active_labs=list(
            LabAttempt.objects.filter(user=user, status=LabAttempt.Status.ACTIVE).select_related(
                "lab__module__course"
            )
        ),
        returning=bool(
            enrolled_ids
            or followed
            or LessonProgress.objects.filter(user=user).exists()
            or Attempt.objects.filter(user=user).exists()
            or LabAttempt.objects.filter(user=user).exists()
        ),
    )


# --- quizzes ----------------------------------------------------------------------------------------


@dataclass
class QuizState:
    """Where a learner stands with a quiz: attempts, whether more are allowed, and when.

    The quiz's retry policy: ``max_attempts`` (0 = unlimited) plus the attempts operators granted;
    after a failed attempt the next one opens ``cooldown_minutes`` later. The explanations of the
    questions (which give the answers away) are shown once the learner passed or has no attempt
    left (``explanations_open``)."""

    quiz: Quiz
    attempts: list[Attempt]
    passed: bool
    attempts_left: int | None  # None = unlimited
    next_attempt_at: datetime | None = None  # set while a cool-down runs

    @property
    def cooling_down(self) -> bool:
        return self.next_attempt_at is not None

    @property
    def can_attempt(self) -> bool:
        return (
            not self.passed
            and (self.attempts_left is None or self.attempts_left > 0)
            and not self.cooling_down
        )

    @property
    def best(self) -> Attempt | None:
        return max(self.attempts, key=lambda a: (a.score, -a.number), default=None)

    @property
    def locked(self) -> bool:
        return not self.passed and self.attempts_left == 0

    @property
    def explanations_open(self) -> bool:
        return self.passed or self.locked


def quiz_state(*, user, quiz: Quiz, now: datetime | None = None) -> QuizState:
    attempts = list(Attempt.objects.filter(user=user, quiz=quiz).order_by("number"))
    passed = any(a.passed for a in attempts)
    left = None
    if quiz.max_attempts:
        granted = QuizGrant.objects.filter(user=user, quiz=quiz).aggregate(n=Sum("extra_attempts"))
        left = max(0, quiz.max_attempts + (granted["n"] or 0) - len(attempts))
    next_at = None
    if attempts and not passed and quiz.cooldown_minutes and left != 0:
        opens = attempts[-1].created_at + timedelta(minutes=quiz.cooldown_minutes)
        if opens > (now or timezone.now()):
            next_at = opens
    return QuizState(
        quiz=quiz, attempts=attempts, passed=passed, attempts_left=left, next_attempt_at=next_at
    )


def unread_lessons(*, user, module: Module) -> list[Lesson]:
    """The module's lessons the learner has not marked read, in course order: the quiz page
    names them before the quiz (a notice, not a gate) and "Continue" after a pass leads there."""
    read = LessonProgress.objects.filter(user=user, lesson__module=module).values("lesson_id")
    return list(module.lessons.exclude(pk__in=read).order_by("order", "id"))


# --- labs -------------------------------------------------------------------------------------------


def active_lab_attempt(*, user, lab: Lab) -> LabAttempt | None:
    return LabAttempt.objects.filter(user=user, lab=lab, status=LabAttempt.Status.ACTIVE).first()


def lab_passed(*, user, lab: Lab) -> bool:
    return LabAttempt.objects.filter(user=user, lab=lab, status=LabAttempt.Status.PASSED).exists()


def latest_lab_result(*, user, lab: Lab) -> LabResult | None:
    return (
        LabResult.objects.filter(attempt__user=user, attempt__lab=lab)
        .select_related("attempt")
        .first()
    )


@dataclass(frozen=True)
class QueuedJob:
    job_id: int
    kind: str
    status: str
    queue: str
    position: int | None  # 1-based place among queued jobs of its queue; None once running
    ahead: int
    progress: float
    created_at: datetime


def my_jobs_in_queue(*, user, since: datetime | None = None, limit: int = 10) -> list[QueuedJob]:
    """The learner's training jobs that are waiting or running, with their place in the shared
    queue (queued jobs of the same queue ordered by creation time)."""
    from django.apps import apps

    try:
        Job = apps.get_model("training", "Job")
    except LookupError:
        return []
    mine = Job.objects.filter(created_by=user, status__in=["queued", "running"])
    if since is not None:
        mine = mine.filter(created_at__gte=since)
    out = []
    for job in mine.order_by("created_at", "pk")[:limit]:
        position = None
        if job.status == "queued":
            ahead = (
                Job.objects.filter(status="queued", queue=job.queue)
                .filter(
                    Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk)
                )
                .count()
            )
            position = ahead + 1
        else:
            ahead = 0
        out.append(
            QueuedJob(
                job_id=job.pk,
                kind=job.kind,
                status=job.status,
                queue=job.queue,
                position=position,
                ahead=ahead,
                progress=job.progress or 0.0,
                created_at=job.created_at,
            )
        )
    return out


def active_model_version(task: str):
    """The active version of ``task`` in the training registry (None when none, or no registry)."""
    from django.apps import apps

    try:
        ModelVersion = apps.get_model("training", "ModelVersion")
    except LookupError:
        return None
    return ModelVersion.objects.filter(task=task, is_active=True).first()


def lab_admin_scope(user) -> set[str] | None:
    """For a learner whose staff access comes from labs: the ``app_label.model`` names that their
    active labs' permissions cover (the only admin pages they may open). None for everyone else,
    whom the normal admin rules govern."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    attempts = list(
        LabAttempt.objects.filter(user=user, granted_staff=True)
        .filter(status=LabAttempt.Status.ACTIVE)
        .select_related("lab")
    )
    if not attempts:
        return None
    models: set[str] = set()
    for attempt in attempts:
        for perm in attempt.lab.permissions:
            app_label, _, codename = perm.partition(".")
            model = codename.split("_", 1)[1] if "_" in codename else ""
            if model:
                models.add(f"{app_label}.{model}")
    return models


# --- discussion -------------------------------------------------------------------------------------


def lesson_threads(*, lesson: Lesson) -> QuerySet[Thread]:
    return (
        Thread.objects.filter(lesson=lesson)
        .select_related("author")
        .annotate(post_count=Count("posts", filter=Q(posts__hidden=False)))
        .prefetch_related(
            Prefetch("posts", queryset=Post.objects.filter(hidden=False).select_related("author"))
        )
    )


# --- reports ----------------------------------------------------------------------------------------


@dataclass
class ModuleReport:
    module: Module
    lesson_completion: float  # mean share of enrolled learners who completed each lesson
    quiz_attempts: int
    quiz_average: float | None
    quiz_pass_rate: float | None  # learners who passed / learners who attempted
    lab_starts: int
    lab_pass_rate: float | None  # learners who passed / learners who started


@dataclass
class CourseReport:
    course: Course
    enrolments: int
    completions: int
    modules: list[ModuleReport]

    @property
    def completion_rate(self) -> float | None:
        return self.completions / self.enrolments if self.enrolments else None

    @property
    def quiz_average(self) -> float | None:
        values = [m.quiz_average for m in self.modules if m.quiz_average is not None]
        return sum(values) / len(values) if values else None

    @property
    def lab_pass_rate(self) -> float | None:
        values = [m.lab_pass_rate for m in self.modules if m.lab_pass_rate is not None]
        return sum(values) / len(values) if values else None


def course_report(*, course: Course) -> CourseReport:
    """Enrolments, completion rate, and per module: lesson completion, quiz average score and pass
    rate, lab pass rate."""
    enrolments = Enrollment.objects.filter(course=course).count()
    completions = Certificate.objects.filter(course=course).count()
    modules = list(
        Module.objects.filter(course=course)
        .order_by("order", "id")
        .annotate(lesson_count=Count("lessons", distinct=True))
    )
    done = dict(
        LessonProgress.objects.filter(lesson__module__course=course)
        .values("lesson__module")
        .annotate(n=Count("id"))
        .values_list("lesson__module", "n")
    )
    quiz_stats = {
        row["quiz__module"]: row
        for row in Attempt.objects.filter(quiz__module__course=course)
        .values("quiz__module")
        .annotate(
            n=Count("id"),
            avg=Avg("score"),
            learners=Count("user", distinct=True),
            passers=Count("user", distinct=True, filter=Q(passed=True)),
        )
    }
    lab_stats = {
        row["lab__module"]: row
        for row in LabAttempt.objects.filter(lab__module__course=course)
        .values("lab__module")
        .annotate(
            learners=Count("user", distinct=True),
            passers=Count("user", distinct=True, filter=Q(status="passed")),
        )
    }
    reports = []
    for module in modules:
        q = quiz_stats.get(module.pk)
        lab = lab_stats.get(module.pk)
        denominator = enrolments * module.lesson_count
        reports.append(
            ModuleReport(
                module=module,
                lesson_completion=(done.get(module.pk, 0) / denominator) if denominator else 0.0,
                quiz_attempts=q["n"] if q else 0,
                quiz_average=q["avg"] if q else None,
                quiz_pass_rate=(q["passers"] / q["learners"]) if q and q["learners"] else None,
                lab_starts=lab["learners"] if lab else 0,
                lab_pass_rate=(lab["passers"] / lab["learners"])
                if lab and lab["learners"]
                else None,
            )
        )
    return CourseReport(
        course=course, enrolments=enrolments, completions=completions, modules=reports
    )
