"""Quiz grading (plain Python): single, multiple and ordering are graded exactly."""

import pytest

from courses import grading
from courses.grading import QuestionSpec

SINGLE = QuestionSpec(
    id=1, kind="single", text="s", choices=["a", "b", "c"], correct=[1], explanation="b"
)
MULTI = QuestionSpec(
    id=2, kind="multiple", text="m", choices=["a", "b", "c", "d"], correct=[0, 2], explanation="a+c"
)
ORDER = QuestionSpec(
    id=3,
    kind="ordering",
    text="o",
    choices=["first", "second", "third", "fourth"],
    correct=[0, 1, 2, 3],
    explanation="in order",
)


@pytest.mark.parametrize(
    ("answer", "ok"), [([1], True), ([0], False), ([], False), (["1"], True), ([1, 2], False)]
)
def test_single_choice(answer, ok):
    result = grading.grade([SINGLE], {1: answer}, pass_mark=100)
    assert result.results[0].correct is ok
    assert result.passed is ok


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ([0, 2], True),
        ([2, 0], True),
        ([0], False),
        ([0, 1, 2], False),
        ([0, 1, 2, 3], False),
        ([], False),
    ],
)
def test_multiple_choice_needs_the_exact_set(answer, ok):
    assert grading.grade([MULTI], {2: answer}, pass_mark=50).results[0].correct is ok


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ([0, 1, 2, 3], True),
        ([1, 0, 2, 3], False),
        ([0, 1, 2], False),
        ([0, 1, 2, 2], False),
        ([3, 2, 1, 0], False),
    ],
)
def test_ordering_is_graded_exactly(answer, ok):
    assert grading.grade([ORDER], {3: answer}, pass_mark=50).results[0].correct is ok


def test_score_pass_mark_and_feedback():
    result = grading.grade(
        [SINGLE, MULTI, ORDER], {"1": [1], "2": [0], "3": [0, 1, 2, 3]}, pass_mark=70
    )
    assert result.correct_count == 2
    assert result.score == pytest.approx(66.67)
    assert result.passed is False
    multi = result.results[1]
    assert (
        multi.given_text == ["a"]
        and multi.expected_text == ["a", "c"]
        and multi.explanation == "a+c"
    )
    assert grading.grade(
        [SINGLE, MULTI, ORDER], {"1": [1], "2": [0], "3": [0, 1, 2, 3]}, pass_mark=66
    ).passed


def test_junk_answers_grade_as_wrong_not_errors():
    result = grading.grade([SINGLE, MULTI], {1: ["x", 99, None], 2: "nonsense"}, pass_mark=0)
    assert [r.correct for r in result.results] == [False, False]
    assert result.results[0].given == []


def test_ordering_from_positions():
    assert grading.ordering_from_positions({0: 2, 1: 1, 2: 3}) == [1, 0, 2]
    assert grading.ordering_from_positions({0: 1, 1: 1, 2: 3}) == []  # a tie cannot be an order
    assert grading.ordering_from_positions({0: 1, 1: 4, 2: 3}) == []  # a gap neither


def test_ordering_choices_are_shown_shuffled_and_stable():
    order = grading.display_order(42, 5, "ordering", seed="7")
    assert sorted(order) == [0, 1, 2, 3, 4] and order != [0, 1, 2, 3, 4]
    assert grading.display_order(42, 5, "ordering", seed="7") == order


def test_every_kind_is_shuffled_per_learner():
    orders = {tuple(grading.display_order(42, 5, "single", seed=str(u))) for u in range(20)}
    assert len(orders) > 5  # learners see different orders
    assert all(sorted(o) == [0, 1, 2, 3, 4] for o in orders)


def test_choice_tokens_are_opaque_per_learner_and_reversible():
    tokens = [grading.choice_token("secret", "7", 3, i) for i in range(4)]
    assert len(set(tokens)) == 4
    assert all(len(t) == 12 and t.isalnum() for t in tokens)
    assert grading.choices_by_token("secret", "7", 3, 4) == {t: i for i, t in enumerate(tokens)}
    # another learner's tokens do not decode in this learner's form
    other = grading.choice_token("secret", "8", 3, 0)
    assert other not in grading.choices_by_token("secret", "7", 3, 4)


@pytest.mark.parametrize(
    ("kind", "choices", "correct", "problem"),
    [
        ("single", ["a", "b"], [0, 1], "exactly one"),
        ("single", ["a", "b"], [2], "out of range"),
        ("multiple", ["a", "b"], [], "at least one"),
        ("ordering", ["a", "b", "c"], [0, 0, 1], "every choice index once"),
        ("ordering", ["a", "b", "c"], [0, 1], "every choice index once"),
        ("essay", ["a", "b"], [0], "kind must be"),
    ],
)
def test_question_validation(kind, choices, correct, problem):
    assert any(
        problem in p for p in grading.validate_question(kind=kind, choices=choices, correct=correct)
    )


def test_valid_questions_have_no_problems():
    permuted = QuestionSpec(
        id=4, kind="ordering", text="p", choices=["c", "a", "b"], correct=[1, 2, 0]
    )
    assert grading.grade([permuted], {4: [1, 2, 0]}, pass_mark=100).passed
    for q in (SINGLE, MULTI, ORDER, permuted):
        assert grading.validate_question(kind=q.kind, choices=q.choices, correct=q.correct) == []
