"""The curriculum as data: load a curriculum folder into the database (``academy_load``, the
bootstrap) and export the database back to the folder format (``academy_export``).

A load is idempotent: rows are matched by slug (questions by position), updated in place, and
reported; loading the same folder twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from courses import labs
from courses.curriculum_format import (
    CourseDoc,
    Curriculum,
    LabDoc,
    LessonDoc,
    ModuleDoc,
    PathDoc,
    QuestionDoc,
    QuizDoc,
    read_curriculum,
    write_curriculum,
)
from courses.models import (
    Course,
    Lab,
    LearningPath,
    LearningPathCourse,
    Lesson,
    Module,
    Question,
    Quiz,
)
from courses.services import lab_group_sync, lab_permissions
from platform_core.services import audit_record

# --- curriculum as data -----------------------------------------------------------------------------


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def count(self, bucket: str, kind: str, n: int = 1) -> None:
        table = getattr(self, bucket)
        table[kind] = table.get(kind, 0) + n

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        def fmt(table: dict[str, int]) -> str:
            return ", ".join(f"{n} {kind}" for kind, n in sorted(table.items())) or "nothing"

        return (
            f"created {fmt(self.created)}; updated {fmt(self.updated)}; deleted {fmt(self.deleted)}; "
            f"unchanged {sum(self.unchanged.values())} rows"
        )


def _upsert(report: LoadReport, kind: str, model, lookup: dict, values: dict):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        report.count("created", kind)
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
        report.count("updated", kind)
    else:
        report.count("unchanged", kind)
    return obj


@transaction.atomic
def curriculum_load(*, root: Path | str, prune: bool = False, actor=None) -> LoadReport:
    """Import a curriculum folder: validate everything first (raising ``CurriculumError`` with
    every problem and its file, importing nothing), then upsert by slug — courses, modules,
    lessons, quizzes and labs — so loading the same folder twice changes nothing. Questions are
    matched by position. With ``prune``, modules / lessons / labs / paths that are no longer in
    the files are deleted (this deletes learner progress on them, so it is opt-in)."""
    curriculum, warnings = read_curriculum(root, known_checks=labs.registered_checks())
    report = LoadReport(warnings=list(warnings))
    lab_perm_missing: list[str] = []
    for c_order, doc in enumerate(curriculum.courses, start=1):
        course = _upsert(
            report,
            "courses",
            Course,
            {"slug": doc.slug},
            {
                "title": doc.title,
                "summary": doc.summary,
                "level": doc.level,
                "pass_mark": doc.pass_mark,
                "roles": list(doc.roles),
                "order": c_order,
            },
        )
        keep_modules = []
        for m_order, mdoc in enumerate(doc.modules, start=1):
            module = _upsert(
                report,
                "modules",
                Module,
                {"course": course, "slug": mdoc.slug},
                {"title": mdoc.title, "summary": mdoc.summary, "order": m_order},
            )
            keep_modules.append(module.pk)
            keep_lessons = []
            for l_order, ldoc in enumerate(mdoc.lessons, start=1):
                lesson = _upsert(
                    report,
                    "lessons",
                    Lesson,
                    {"module": module, "slug": ldoc.slug},
                    {
                        "title": ldoc.title,
                        "minutes": ldoc.minutes,
                        "body": ldoc.body,
                        "order": l_order,
                    },
                )
                keep_lessons.append(lesson.pk)
            if prune:
                n, _ = Lesson.objects.filter(module=module).exclude(pk__in=keep_lessons).delete()
                if n:
                    report.count("deleted", "lessons", n)
            _load_quiz(report, module, mdoc.quiz)
            _load_lab(report, module, mdoc.lab, lab_perm_missing)
        if prune:
            n, _ = Module.objects.filter(course=course).exclude(pk__in=keep_modules).delete()
            if n:
                report.count("deleted", "modules", n)
    for pdoc in curriculum.paths:
        path = _upsert(
            report,
            "paths",
            LearningPath,
            {"slug": pdoc.slug},
            {"title": pdoc.title, "role": pdoc.role, "summary": pdoc.summary},
        )
        wanted = {slug: n for n, slug in enumerate(pdoc.courses, start=1)}
        existing = {s.course.slug: s for s in path.steps.select_related("course")}
        for slug, order in wanted.items():
            step = existing.get(slug)
            modules = list(pdoc.modules.get(slug, []))
            if step is None:
                LearningPathCourse.objects.create(
                    path=path, course=Course.objects.get(slug=slug), order=order, modules=modules
                )
                report.count("created", "path steps")
            elif step.order != order or step.modules != modules:
                step.order, step.modules = order, modules
                step.save(update_fields=["order", "modules"])
                report.count("updated", "path steps")
        stale = [s.pk for slug, s in existing.items() if slug not in wanted]
        if stale:
            LearningPathCourse.objects.filter(pk__in=stale).delete()
            report.count("deleted", "path steps", len(stale))
    if prune:
        n, _ = LearningPath.objects.exclude(slug__in=[p.slug for p in curriculum.paths]).delete()
        if n:
            report.count("deleted", "paths", n)
    for name in sorted(set(lab_perm_missing)):
        report.warnings.append(
            f"lab permission {name} does not exist on this platform yet (granted once it does)"
        )
    if report.changed:
        audit_record(
            actor=actor,
            action="academy.curriculum_load",
            object_type="courses.course",
            object_repr=str(root)[:200],
            details={"summary": report.summary(), "prune": prune},
        )
    return report


def _load_quiz(report: LoadReport, module: Module, doc: QuizDoc | None) -> None:
    if doc is None:
        n, _ = Quiz.objects.filter(module=module).delete()
        if n:
            report.count("deleted", "quizzes")
        return
    quiz = _upsert(
        report,
        "quizzes",
        Quiz,
        {"module": module},
        {
            "title": doc.title,
            "pass_mark": doc.pass_mark,
            "max_attempts": doc.max_attempts,
            "cooldown_minutes": doc.cooldown_minutes,
        },
    )
    existing = list(quiz.questions.order_by("order", "id"))
    for n, qdoc in enumerate(doc.questions, start=1):
        values = {
            "kind": qdoc.kind,
            "text": qdoc.text,
            "choices": list(qdoc.choices),
            "correct": list(qdoc.correct),
            "explanation": qdoc.explanation,
            "order": n,
        }
        if n <= len(existing):
            question = existing[n - 1]
            changed = [k for k, v in values.items() if getattr(question, k) != v]
            if changed:
                for k in changed:
                    setattr(question, k, values[k])
                question.save(update_fields=changed)
                report.count("updated", "questions")
            else:
                report.count("unchanged", "questions")
        else:
            Question.objects.create(quiz=quiz, **values)
            report.count("created", "questions")
    extra = [q.pk for q in existing[len(doc.questions) :]]
    if extra:
        Question.objects.filter(pk__in=extra).delete()
        report.count("deleted", "questions", len(extra))


def _load_lab(
    report: LoadReport, module: Module, doc: LabDoc | None, missing_perms: list[str]
) -> None:
    if doc is None:
        n, _ = Lab.objects.filter(module=module).exclude(attempts__isnull=False).delete()
        if n:
            report.count("deleted", "labs")
        return
    # A lab keeps its slug across moves between modules: match it by slug first.
    lab = Lab.objects.filter(slug=doc.slug).first()
    values = {
        "module": module,
        "title": doc.title,
        "check_name": doc.check,
        "permissions": list(doc.permissions),
        "instructions": doc.instructions,
        "question": doc.question,
    }
    if lab is None:
        Lab.objects.filter(module=module).delete()
    lab = _upsert(report, "labs", Lab, {"slug": doc.slug}, values)
    _, missing = lab_permissions(lab)
    missing_perms.extend(missing)
    lab_group_sync(lab=lab)


def curriculum_snapshot() -> Curriculum:
    """The curriculum in the database, as the folder format's documents."""
    courses = []
    for course in Course.objects.order_by("order", "id").prefetch_related(
        "modules__lessons", "modules__quiz__questions", "modules__lab"
    ):
        cdoc = CourseDoc(
            slug=course.slug,
            title=course.title,
            summary=course.summary,
            level=course.level,
            pass_mark=course.pass_mark,
            roles=list(course.roles),
        )
        for module in sorted(course.modules.all(), key=lambda m: (m.order, m.pk)):
            mdoc = ModuleDoc(slug=module.slug, title=module.title, summary=module.summary)
            for lesson in sorted(module.lessons.all(), key=lambda x: (x.order, x.pk)):
                mdoc.lessons.append(
                    LessonDoc(
                        slug=lesson.slug,
                        title=lesson.title,
                        minutes=lesson.minutes,
                        body=lesson.body,
                    )
                )
            quiz = getattr(module, "quiz", None)
            if quiz is not None:
                mdoc.quiz = QuizDoc(
                    title=quiz.title,
                    pass_mark=quiz.pass_mark,
                    max_attempts=quiz.max_attempts,
                    cooldown_minutes=quiz.cooldown_minutes,
                    questions=[
                        QuestionDoc(
                            kind=q.kind,
                            text=q.text,
                            choices=list(q.choices),
                            correct=list(q.correct),
                            explanation=q.explanation,
                        )
                        for q in sorted(quiz.questions.all(), key=lambda q: (q.order, q.pk))
                    ],
                )
            lab = getattr(module, "lab", None)
            if lab is not None:
                mdoc.lab = LabDoc(
                    slug=lab.slug,
                    title=lab.title,
                    check=lab.check_name,
                    permissions=list(lab.permissions),
                    instructions=lab.instructions,
                    question=lab.question,
                )
            cdoc.modules.append(mdoc)
        courses.append(cdoc)
    paths = [
        PathDoc(
            slug=p.slug,
            title=p.title,
            role=p.role,
            summary=p.summary,
            courses=[s.course.slug for s in p.steps.select_related("course").order_by("order")],
            modules={s.course.slug: list(s.modules) for s in p.steps.all() if s.modules},
        )
        for p in LearningPath.objects.order_by("pk")
    ]
    return Curriculum(courses=courses, paths=paths)


def curriculum_export(*, root: Path | str) -> list[Path]:
    """Write the database's curriculum in the folder format ``academy_load`` reads."""
    return write_curriculum(curriculum_snapshot(), root)
