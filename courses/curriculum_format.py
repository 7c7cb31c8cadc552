"""The curriculum folder format: read, validate and write it. Plain Python, no Django.

::

    curriculum/
      paths.yaml                       # learning paths: slug, title, role, summary, courses,
                                       # and modules (course slug → the modules a path takes)
      01-<course>/course.yaml          # slug, title, summary, level, pass_mark, roles
      01-<course>/01-<module>/module.yaml   # slug, title, summary, quiz (or null), lab (or null)
      01-<course>/01-<module>/01-<lesson>.md   # front matter (title, minutes) + Markdown body

Order comes from the ``NN-`` prefixes (sorted names); a lesson's slug is its file name without
the prefix and ``.md``. Quiz questions: ``kind`` single | multiple | ordering, ``choices``,
``correct`` (0-based indexes; an ordering question lists its choices in the right order) and
``explanation``. A lab: ``slug``, ``title``, ``check`` (a registered check name),
``permissions`` (``app_label.codename``), ``instructions`` (Markdown) and an optional
``question`` the learner answers on the lab page beside "Run the check" (the check reads it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from courses.grading import KINDS, validate_question

LEVELS = ("beginner", "intermediate", "advanced")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PREFIX_RE = re.compile(r"^(\d+)-(.+)$")
PERMISSION_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
MIN_LESSON_WORDS = 300
RESERVED_LESSON_SLUGS = frozenset({"quiz"})


@dataclass
class QuestionDoc:
    kind: str
    text: str
    choices: list[str]
    correct: list[int]
    explanation: str = ""


@dataclass
class QuizDoc:
    title: str
    pass_mark: int = 70
    max_attempts: int = 0
    cooldown_minutes: int = 0
    questions: list[QuestionDoc] = field(default_factory=list)


@dataclass
class LabDoc:
    slug: str
    title: str
    check: str
    permissions: list[str]
    instructions: str
    question: str = ""


@dataclass
class LessonDoc:
    slug: str
    title: str
    minutes: int
    body: str


@dataclass
class ModuleDoc:
    slug: str
    title: str
    summary: str = ""
    lessons: list[LessonDoc] = field(default_factory=list)
    quiz: QuizDoc | None = None
    lab: LabDoc | None = None


@dataclass
class CourseDoc:
    slug: str
    title: str
    summary: str = ""
    level: str = "beginner"
    pass_mark: int = 70
    roles: list[str] = field(default_factory=list)
    modules: list[ModuleDoc] = field(default_factory=list)


@dataclass
class PathDoc:
    slug: str
    title: str
    role: str
    summary: str
    courses: list[str]
    #: course slug → the slugs of the modules this path takes from it (a course not named here:
    #: every module). Role paths share courses where they overlap and differ by module.
    modules: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Curriculum:
    courses: list[CourseDoc] = field(default_factory=list)
    paths: list[PathDoc] = field(default_factory=list)


class CurriculumError(Exception):
    """The folder has errors; ``errors`` lists them, each starting with the file it concerns."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(
            f"{len(errors)} error(s) in the curriculum:\n" + "\n".join(f"  {e}" for e in errors)
        )


# --- reading --------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, root: Path, known_checks: Iterable[str] | None):
        self.root = root
        self.known_checks = set(known_checks) if known_checks is not None else None
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def error(self, path: Path, message: str) -> None:
        self.errors.append(f"{self.rel(path)}: {message}")

    def load_yaml(self, path: Path) -> dict | None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.error(path, "file is missing")
            return None
        except yaml.YAMLError as exc:
            self.error(path, f"invalid YAML: {exc}".replace("\n", " "))
            return None
        if not isinstance(data, dict):
            self.error(path, "must be a YAML mapping")
            return None
        return data

    def text(
        self, path: Path, data: dict, key: str, *, required: bool = True, where: str = ""
    ) -> str:
        value = data.get(key)
        label = f"{where}{key}"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(path, f"{label} is required")
            return ""
        if not isinstance(value, str):
            self.error(path, f"{label} must be text")
            return str(value)
        return value

    def integer(
        self, path: Path, data: dict, key: str, default: int, lo: int, hi: int, where: str = ""
    ) -> int:
        value = data.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            self.error(
                path, f"{where}{key} must be a whole number from {lo} to {hi}, not {value!r}"
            )
            return default
        return value

    def string_list(self, path: Path, data: dict, key: str, where: str = "") -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.error(path, f"{where}{key} must be a list of text items")
            return []
        return list(value)

    def slug(self, path: Path, data: dict, key: str = "slug", where: str = "") -> str:
        value = self.text(path, data, key, where=where)
        if value and not SLUG_RE.match(value):
            self.error(
                path, f"{where}{key} {value!r} must be lower-case letters, digits and hyphens"
            )
        return value

    # -- documents -------------------------------------------------------------------------------

    def course(self, folder: Path) -> CourseDoc | None:
        path = folder / "course.yaml"
        data = self.load_yaml(path)
        if data is None:
            return None
        level = data.get("level", "beginner")
        if level not in LEVELS:
            self.error(path, f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        course = CourseDoc(
            slug=self.slug(path, data),
            title=self.text(path, data, "title"),
            summary=self.text(path, data, "summary", required=False),
            level=level,
            pass_mark=self.integer(path, data, "pass_mark", 70, 0, 100),
            roles=self.string_list(path, data, "roles"),
        )
        module_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and PREFIX_RE.match(p.name))
        if not module_dirs:
            self.error(folder, "a course needs at least one module folder (NN-<module>/)")
        seen: set[str] = set()
        for module_dir in module_dirs:
            module = self.module(module_dir)
            if module is None:
                continue
            if module.slug in seen:
                self.error(
                    module_dir / "module.yaml",
                    f"module slug {module.slug!r} is used twice in this course",
                )
            seen.add(module.slug)
            course.modules.append(module)
        return course

    def module(self, folder: Path) -> ModuleDoc | None:
        path = folder / "module.yaml"
        data = self.load_yaml(path)
        if data is None:
            return None
        module = ModuleDoc(
            slug=self.slug(path, data),
            title=self.text(path, data, "title"),
            summary=self.text(path, data, "summary", required=False),
        )
        lesson_files = sorted(p for p in folder.glob("*.md") if PREFIX_RE.match(p.name))
        if not lesson_files:
            self.error(folder, "a module needs at least one lesson (NN-<lesson>.md)")
        seen: set[str] = set()
        for lesson_path in lesson_files:
            lesson = self.lesson(lesson_path)
            if lesson is None:
                continue
            if lesson.slug in seen:
                self.error(lesson_path, f"lesson slug {lesson.slug!r} is used twice in this module")
            seen.add(lesson.slug)
            module.lessons.append(lesson)
        if data.get("quiz") is not None:
            module.quiz = self.quiz(path, data["quiz"])
        if data.get("lab") is not None:
            module.lab = self.lab(path, data["lab"])
        return module

    def lesson(self, path: Path) -> LessonDoc | None:
        raw = path.read_text(encoding="utf-8")
        front, body = split_front_matter(raw)
        if front is None:
            self.error(path, "must start with front matter (--- title / minutes ---)")
            return None
        try:
            meta = yaml.safe_load(front) or {}
        except yaml.YAMLError as exc:
            self.error(path, f"invalid front matter: {exc}".replace("\n", " "))
            return None
        if not isinstance(meta, dict):
            self.error(path, "front matter must be a YAML mapping")
            return None
        slug = PREFIX_RE.match(path.stem).group(2)
        if not SLUG_RE.match(slug):
            self.error(
                path, f"file name must be NN-<slug>.md with a lower-case slug, not {path.name!r}"
            )
        elif slug in RESERVED_LESSON_SLUGS:
            self.error(
                path,
                f"lesson slug {slug!r} is reserved (the portal uses …/<module>/{slug}/ for the module's quiz)",
            )
        lesson = LessonDoc(
            slug=slug,
            title=self.text(path, meta, "title"),
            minutes=self.integer(path, meta, "minutes", 5, 1, 600),
            body=body,
        )
        if not body.strip():
            self.error(path, "the lesson body is empty")
        words = len(re.findall(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*", body))
        if words < MIN_LESSON_WORDS:
            self.warnings.append(
                f"{self.rel(path)}: only {words} words (lessons should have at least {MIN_LESSON_WORDS})"
            )
        return lesson

    def quiz(self, path: Path, data: object) -> QuizDoc | None:
        if not isinstance(data, dict):
            self.error(path, "quiz must be a mapping (or null)")
            return None
        quiz = QuizDoc(
            title=self.text(path, data, "title", where="quiz."),
            pass_mark=self.integer(path, data, "pass_mark", 70, 0, 100, where="quiz."),
            max_attempts=self.integer(path, data, "max_attempts", 0, 0, 1000, where="quiz."),
            cooldown_minutes=self.integer(
                path, data, "cooldown_minutes", 0, 0, 10080, where="quiz."
            ),
        )
        questions = data.get("questions") or []
        if not isinstance(questions, list) or not questions:
            self.error(path, "quiz.questions must be a non-empty list")
            return quiz
        for n, q in enumerate(questions, start=1):
            where = f"quiz question {n}: "
            if not isinstance(q, dict):
                self.error(path, f"{where}must be a mapping")
                continue
            kind = q.get("kind", "single")
            choices = q.get("choices") or []
            correct = q.get("correct") if q.get("correct") is not None else []
            if not isinstance(choices, list):
                self.error(path, f"{where}choices must be a list")
                continue
            if not isinstance(correct, list):
                correct = [correct]
            if kind not in KINDS:
                self.error(path, f"{where}kind must be one of {', '.join(KINDS)}, not {kind!r}")
                continue
            for problem in validate_question(kind=kind, choices=choices, correct=correct):
                self.error(path, f"{where}{problem}")
            text = self.text(path, q, "text", where=where)
            quiz.questions.append(
                QuestionDoc(
                    kind=kind,
                    text=text,
                    choices=[str(c) for c in choices],
                    correct=list(correct),
                    explanation=self.text(path, q, "explanation", required=False, where=where),
                )
            )
        return quiz

    def lab(self, path: Path, data: object) -> LabDoc | None:
        if not isinstance(data, dict):
            self.error(path, "lab must be a mapping (or null)")
            return None
        lab = LabDoc(
            slug=self.slug(path, data, where="lab."),
            title=self.text(path, data, "title", where="lab."),
            check=self.text(path, data, "check", where="lab."),
            permissions=self.string_list(path, data, "permissions", where="lab."),
            instructions=self.text(path, data, "instructions", where="lab."),
            question=self.text(path, data, "question", required=False, where="lab.").strip(),
        )
        if lab.check and self.known_checks is not None and lab.check not in self.known_checks:
            self.error(
                path,
                f"lab.check {lab.check!r} is not a registered check "
                f"(known: {', '.join(sorted(self.known_checks))})",
            )
        for perm in lab.permissions:
            if not PERMISSION_RE.match(perm):
                self.error(path, f"lab.permissions: {perm!r} must look like app_label.codename")
        return lab

    def paths(self, courses: list[CourseDoc]) -> list[PathDoc]:
        path = self.root / "paths.yaml"
        if not path.exists():
            return []
        data = self.load_yaml(path)
        if data is None:
            return []
        items = data.get("paths") or []
        if not isinstance(items, list):
            self.error(path, "paths must be a list")
            return []
        known = {c.slug for c in courses}
        out, seen = [], set()
        for n, item in enumerate(items, start=1):
            where = f"path {n}: "
            if not isinstance(item, dict):
                self.error(path, f"{where}must be a mapping")
                continue
            doc = PathDoc(
                slug=self.slug(path, item, where=where),
                title=self.text(path, item, "title", where=where),
                role=self.text(path, item, "role", where=where),
                summary=self.text(path, item, "summary", required=False, where=where),
                courses=self.string_list(path, item, "courses", where=where),
            )
            if doc.slug in seen:
                self.error(path, f"{where}slug {doc.slug!r} is used twice")
            seen.add(doc.slug)
            for slug in doc.courses:
                if slug not in known:
                    self.error(path, f"{where}course {slug!r} is not in this curriculum")
            doc.modules = self.path_modules(path, item, doc, courses, where=where)
            out.append(doc)
        return out

    def path_modules(
        self, path: Path, item: dict, doc: PathDoc, courses: list[CourseDoc], *, where: str
    ) -> dict[str, list[str]]:
        raw = item.get("modules") or {}
        if not isinstance(raw, dict):
            self.error(path, f"{where}modules must map a course slug to a list of module slugs")
            return {}
        modules_of = {c.slug: [m.slug for m in c.modules] for c in courses}
        out: dict[str, list[str]] = {}
        for course_slug, slugs in raw.items():
            if course_slug not in doc.courses:
                self.error(
                    path, f"{where}modules names {course_slug!r}, which is not in its courses"
                )
                continue
            if (
                not isinstance(slugs, list)
                or not slugs
                or not all(isinstance(m, str) for m in slugs)
            ):
                self.error(path, f"{where}modules.{course_slug} must be a non-empty list of slugs")
                continue
            for m in slugs:
                if m not in modules_of.get(course_slug, []):
                    self.error(path, f"{where}module {m!r} is not in course {course_slug!r}")
            out[course_slug] = list(slugs)
        return out


def split_front_matter(raw: str) -> tuple[str | None, str]:
    """(front matter YAML, body) of a ``---``-delimited Markdown file; (None, raw) without one."""
    if not raw.startswith("---"):
        return None, raw
    lines = raw.split("\n")
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :])
    return None, raw


def read_curriculum(
    root: Path | str, *, known_checks: Iterable[str] | None = None
) -> tuple[Curriculum, list[str]]:
    """Read and validate a curriculum folder. Returns (curriculum, warnings); raises
    :class:`CurriculumError` listing every error (with its file) when anything is wrong."""
    root = Path(root)
    reader = _Reader(root, known_checks)
    if not root.is_dir():
        raise CurriculumError([f"{root}: not a folder"])
    curriculum = Curriculum()
    seen_courses: set[str] = set()
    seen_labs: dict[str, str] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and PREFIX_RE.match(p.name)):
        course = reader.course(folder)
        if course is None:
            continue
        if course.slug in seen_courses:
            reader.error(folder / "course.yaml", f"course slug {course.slug!r} is used twice")
        seen_courses.add(course.slug)
        for module in course.modules:
            if module.lab is not None and module.lab.slug:
                if module.lab.slug in seen_labs:
                    reader.errors.append(
                        f"{folder.name}/…/module.yaml: lab slug {module.lab.slug!r} is used twice "
                        f"(also in {seen_labs[module.lab.slug]})"
                    )
                seen_labs[module.lab.slug] = f"{course.slug}/{module.slug}"
        curriculum.courses.append(course)
    if not curriculum.courses and not reader.errors:
        reader.errors.append(f"{root}: no course folders (NN-<course>/course.yaml)")
    curriculum.paths = reader.paths(curriculum.courses)
    if reader.errors:
        raise CurriculumError(reader.errors)
    return curriculum, reader.warnings


# --- writing --------------------------------------------------------------------------------------


class _Flow(list):
    """A list written in flow style: ``[a, b]``."""


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str):
    if "\n" in value:
        text = value if value.endswith("\n") else value + "\n"
        # Literal blocks cannot hold trailing spaces on a line; strip them (they are invisible in Markdown).
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", list(v), flow_style=True)
)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def _quiz_dict(quiz: QuizDoc | None) -> dict | None:
    if quiz is None:
        return None
    return {
        "title": quiz.title,
        "pass_mark": quiz.pass_mark,
        "max_attempts": quiz.max_attempts,
        "cooldown_minutes": quiz.cooldown_minutes,
        "questions": [
            {
                "kind": q.kind,
                "text": q.text,
                "choices": list(q.choices),
                "correct": _Flow(q.correct),
                "explanation": q.explanation,
            }
            for q in quiz.questions
        ],
    }


def _lab_dict(lab: LabDoc | None) -> dict | None:
    if lab is None:
        return None
    instructions = lab.instructions if lab.instructions.endswith("\n") else lab.instructions + "\n"
    out = {
        "slug": lab.slug,
        "title": lab.title,
        "check": lab.check,
        "permissions": _Flow(lab.permissions),
    }
    if lab.question:
        out["question"] = lab.question
    out["instructions"] = instructions
    return out


def write_curriculum(curriculum: Curriculum, root: Path | str) -> list[Path]:
    """Write ``curriculum`` in the folder format (the inverse of :func:`read_curriculum`).
    Returns the files written."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    for c_index, course in enumerate(curriculum.courses, start=1):
        folder = root / f"{c_index:02d}-{course.slug}"
        put(
            folder / "course.yaml",
            _dump(
                {
                    "slug": course.slug,
                    "title": course.title,
                    "summary": course.summary,
                    "level": course.level,
                    "pass_mark": course.pass_mark,
                    "roles": _Flow(course.roles),
                }
            ),
        )
        for m_index, module in enumerate(course.modules, start=1):
            m_folder = folder / f"{m_index:02d}-{module.slug}"
            put(
                m_folder / "module.yaml",
                _dump(
                    {
                        "slug": module.slug,
                        "title": module.title,
                        "summary": module.summary,
                        "quiz": _quiz_dict(module.quiz),
                        "lab": _lab_dict(module.lab),
                    }
                ),
            )
            for l_index, lesson in enumerate(module.lessons, start=1):
                front = _dump({"title": lesson.title, "minutes": lesson.minutes})
                put(m_folder / f"{l_index:02d}-{lesson.slug}.md", f"---\n{front}---\n{lesson.body}")
    if curriculum.paths:
        put(
            root / "paths.yaml",
            _dump(
                {
                    "paths": [
                        {
                            "slug": p.slug,
                            "title": p.title,
                            "role": p.role,
                            "summary": p.summary,
                            "courses": _Flow(p.courses),
                            **(
                                {"modules": {c: _Flow(m) for c, m in p.modules.items()}}
                                if p.modules
                                else {}
                            ),
                        }
                        for p in curriculum.paths
                    ]
                }
            ),
        )
    return written
