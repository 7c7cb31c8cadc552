"""Quiz grading: plain Python, no Django.

A question is right only when the answer is exactly right: the one correct choice (single), the
exact set of correct choices (multiple — no partial credit, so ticking everything never pays), or
the exact order (ordering). The score is the percent of questions answered right.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

SINGLE, MULTIPLE, ORDERING = "single", "multiple", "ordering"
KINDS = (SINGLE, MULTIPLE, ORDERING)


@dataclass(frozen=True)
class QuestionSpec:
    """What grading needs to know about a question."""

    id: int
    kind: str
    text: str
    choices: Sequence[str]
    correct: Sequence[int]
    explanation: str = ""


@dataclass(frozen=True)
class QuestionResult:
    """The feedback for one answered question."""

    question_id: int
    kind: str
    text: str
    correct: bool
    given: list[int]
    expected: list[int]
    given_text: list[str]
    expected_text: list[str]
    explanation: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GradeResult:
    score: float
    passed: bool
    results: list[QuestionResult]

    @property
    def correct_count(self) -> int:
        return sum(r.correct for r in self.results)


def validate_question(*, kind: str, choices: Sequence[str], correct: Sequence[int]) -> list[str]:
    """Problems with a question's definition (empty list when it is sound)."""
    problems = []
    if kind not in KINDS:
        return [f"kind must be one of {', '.join(KINDS)}, not {kind!r}"]
    if len(choices) < 2:
        problems.append("needs at least two choices")
    if not all(isinstance(c, str) and c.strip() for c in choices):
        problems.append("every choice must be non-empty text")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in correct):
        return [*problems, "correct must be a list of 0-based choice indexes"]
    if any(i < 0 or i >= len(choices) for i in correct):
        problems.append(f"correct index out of range (there are {len(choices)} choices)")
    if len(set(correct)) != len(correct):
        problems.append("correct lists an index twice")
    if kind == SINGLE and len(correct) != 1:
        problems.append("a single-choice question has exactly one correct index")
    if kind == MULTIPLE and not correct:
        problems.append("a multiple-choice question needs at least one correct index")
    if kind == ORDERING and sorted(correct) != list(range(len(choices))):
        problems.append("an ordering question's correct must list every choice index once")
    return problems


def normalise_answer(kind: str, raw: object, n_choices: int) -> list[int]:
    """An answer as a list of choice indexes: junk is dropped, so it simply grades as wrong."""
    if raw is None:
        return []
    if isinstance(raw, (int, str)):
        raw = [raw]
    out: list[int] = []
    for item in raw if isinstance(raw, (list, tuple)) else []:
        try:
            value = int(item)
        except (TypeError, ValueError):
            continue
        if 0 <= value < n_choices:
            out.append(value)
    if kind == MULTIPLE:
        return sorted(set(out))
    return out  # single: more than one index is simply wrong; ordering: the order as given


def is_correct(question: QuestionSpec, given: Sequence[int]) -> bool:
    expected = list(question.correct)
    if question.kind == ORDERING:
        return list(given) == expected  # exact order; a duplicate or missing item is wrong
    return sorted(set(given)) == sorted(expected) and len(given) == len(set(given))


def grade(questions: Sequence[QuestionSpec], answers: dict, *, pass_mark: float) -> GradeResult:
    """Grade ``answers`` (question id, as int or str → list of choice indexes)."""
    results = []
    for q in questions:
        raw = answers.get(q.id, answers.get(str(q.id)))
        given = normalise_answer(q.kind, raw, len(q.choices))
        ok = is_correct(q, given)
        results.append(
            QuestionResult(
                question_id=q.id,
                kind=q.kind,
                text=q.text,
                correct=ok,
                given=given,
                expected=list(q.correct),
                given_text=[q.choices[i] for i in given],
                expected_text=[q.choices[i] for i in q.correct],
                explanation=q.explanation,
            )
        )
    score = 100.0 * sum(r.correct for r in results) / len(results) if results else 0.0
    return GradeResult(
        score=round(score, 2), passed=bool(results) and score >= pass_mark, results=results
    )


def display_order(question_id: int, n_choices: int, kind: str, *, seed: str = "") -> list[int]:
    """The order choices are shown in: shuffled for every kind, stable per question and ``seed``
    (the learner), so a page reload or a retry shows the same order while two learners see
    different ones. Ordering questions store their choices in the right order, so they are never
    shown in it when avoidable."""
    indexes = list(range(n_choices))
    if n_choices < 2:
        return indexes
    rng = random.Random(f"aisle-choices-{seed}-{question_id}")
    for _ in range(10):
        rng.shuffle(indexes)
        if kind != ORDERING or indexes != sorted(indexes):
            break
    return indexes


def choice_token(secret: str, seed: str, question_id: int, index: int) -> str:
    """An opaque name for a choice in the quiz form. Field names and values built from choice
    indexes give the answer away in the HTML (an ordering question's choices are stored in the
    right order); an HMAC of (learner, question, index) under the site's secret says nothing and
    cannot be forged to another learner's form."""
    message = f"{seed}:{question_id}:{index}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:12]


def choices_by_token(secret: str, seed: str, question_id: int, n_choices: int) -> dict[str, int]:
    """The reverse of :func:`choice_token` for one question: token → choice index."""
    return {choice_token(secret, seed, question_id, i): i for i in range(n_choices)}


def ordering_from_positions(positions: dict[int, int]) -> list[int]:
    """Turn {choice index: position chosen by the learner (1-based)} into an order of choice
    indexes. Positions that are not exactly 1..n (a tie or a gap) give an empty answer, which
    grades as wrong."""
    if not positions or sorted(positions.values()) != list(range(1, len(positions) + 1)):
        return []
    return [c for c, _ in sorted(positions.items(), key=lambda kv: kv[1])]
