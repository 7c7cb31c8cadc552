"""The Academy problems a new learner ran into (issue 20), each held by a test that failed before
its fix: lab instructions that render as a list, quiz forms that do not give the answer away,
explanations only after a pass or the last attempt, a cool-down and operator grants, an unread-
lessons notice, "Continue" that does not skip unread lessons, and a first-time greeting."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from courses import curriculum_sync, grading, services
from courses.curriculum_format import read_curriculum
from courses.models import Attempt, LessonProgress, QuizGrant
from courses.rendering import render_markdown
from platform_core.models import AuditLog
from tests.courses.conftest import build_course, quiz_form, right_answers, wrong_answers

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "courses" / "curriculum"
QUIZ_URL = reverse("academy:quiz", args=["search-basics", "retrieval"])


def test_a_list_right_after_a_line_renders_as_a_list():
    html = str(render_markdown("Go to **Jobs** and choose:\n- kind: `x`\n- keep the defaults\n"))
    assert re.search(r"<ul>\s*<li>kind: <code>x</code></li>\s*<li>keep the defaults</li>", html)
    fenced = str(render_markdown("```\nline\n- not a list\n```\n"))
    assert "<li>" not in fenced


def test_shipped_lab_instructions_name_what_the_platform_shows():
    """No parameter that does not exist, the buttons by their names, and lists that render."""
    curriculum, _ = read_curriculum(SHIPPED)
    labs = [m.lab for c in curriculum.courses for m in c.modules if m.lab]
    assert labs
    for lab in labs:
        text = lab.instructions
        assert "store:" not in text, lab.slug  # there is no store parameter
        assert not re.search(r"(?m)^Save\b|\bpress \*\*Check\*\*", text), lab.slug
        html = str(render_markdown(text))
        assert not re.search(r"choose:\s*- ", html), lab.slug  # a list, not inline dashes


def _a_choice_index(text: str, n_choices: int) -> bool:
    """Whether a field name or value is a choice index (0- or 1-based, bare or ``c``-prefixed)."""
    match = re.fullmatch(r"c?(\d+)", text)
    return bool(match) and int(match.group(1)) <= n_choices


def _a_secret_with_all_digit_tokens(seed: str, questions) -> str:
    """A SECRET_KEY under which every one of ``questions`` has a choice token of digits only (a
    12-hex-digit HMAC is all digits about once in 280): the case that made this test flaky when
    it took "all digits" for "a choice index"."""
    for n in range(1_000_000):
        secret = f"all-digit-tokens-{n}"
        if all(
            any(
                grading.choice_token(secret, seed, q.pk, i).isdigit() for i in range(len(q.choices))
            )
            for q in questions
        ):
            return secret
    raise AssertionError("no such secret in a million tries")


def test_quiz_form_names_and_order_do_not_give_the_answer_away(
    client, learner_user, small_course, settings
):
    ordering = small_course.quiz.questions.get(kind="ordering")
    single = small_course.quiz.questions.get(kind="single")
    settings.SECRET_KEY = _a_secret_with_all_digit_tokens(str(learner_user.pk), [ordering, single])
    client.force_login(learner_user)
    page = client.get(QUIZ_URL).content.decode()

    names = re.findall(rf'name="q{ordering.pk}_([^"]+)"', page)
    assert len(names) == 4
    assert any(n.isdigit() for n in names)  # the secret does what it is chosen for
    assert not any(_a_choice_index(n, 4) for n in names)  # no choice index in the name
    shown = re.findall(r'aria-label="Position of: ([^"]+)"', page)
    assert shown != ordering.choices  # never shown in the right order
    values = re.findall(rf'name="q{single.pk}" id="[^"]+" value="([^"]+)"', page)
    assert len(values) == 3 and any(v.isdigit() for v in values)
    assert not any(_a_choice_index(v, 3) for v in values)


def test_explanations_wait_for_the_last_attempt_and_the_limit_can_be_raised(
    learner_client, learner_user, operator_user
):
    sc = build_course(slug="search-basics", max_attempts=2)
    quiz = sc.quiz
    learner_client.post(QUIZ_URL, quiz_form(quiz, learner_user, wrong_answers(quiz)))
    first = learner_client.get(QUIZ_URL.replace("/quiz/", "/quiz/attempts/1/")).content.decode()
    assert "Because" not in first and "Right answer" not in first and "1 attempt left" in first

    learner_client.post(QUIZ_URL, quiz_form(quiz, learner_user, wrong_answers(quiz)))
    last = learner_client.get(QUIZ_URL.replace("/quiz/", "/quiz/attempts/2/")).content.decode()
    assert "Right answer" in last and "grant you another attempt" in last
    assert "You have used all your attempts" in learner_client.get(QUIZ_URL).content.decode()
    with pytest.raises(services.QuizClosed, match="grant you another"):
        services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz))

    services.quiz_attempts_grant(quiz=quiz, user=learner_user, actor=operator_user)
    assert QuizGrant.objects.filter(quiz=quiz, user=learner_user).count() == 1
    assert AuditLog.objects.filter(action="academy.quiz_attempts_granted").exists()
    third = services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz))
    assert third.passed and Attempt.objects.filter(user=learner_user, quiz=quiz).count() == 3


def test_a_cool_down_separates_failed_attempts(learner_client, learner_user, small_course):
    quiz = small_course.quiz
    quiz.cooldown_minutes = 10
    quiz.save()
    services.quiz_submit(user=learner_user, quiz=quiz, answers=wrong_answers(quiz))
    assert 'id="quiz-cooldown"' in learner_client.get(QUIZ_URL).content.decode()
    with pytest.raises(services.QuizClosed, match="next attempt opens in 10 minutes"):
        services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz))
    Attempt.objects.filter(user=learner_user).update(
        created_at=Attempt.objects.get().created_at - timedelta(minutes=11)
    )
    assert services.quiz_submit(user=learner_user, quiz=quiz, answers=right_answers(quiz)).passed


def test_unread_lessons_are_named_before_the_quiz_and_continue_leads_back_to_them(
    learner_client, learner_user, small_course
):
    first, second = small_course.lessons
    LessonProgress.objects.create(user=learner_user, lesson=first)
    page = learner_client.get(QUIZ_URL).content.decode()
    notice = page.split('id="unread-lessons"', 1)[1].split("</div>", 1)[0]
    assert second.title in notice and first.title not in notice

    quiz = small_course.quiz
    response = learner_client.post(QUIZ_URL, quiz_form(quiz, learner_user, right_answers(quiz)))
    result = learner_client.get(response["Location"]).content.decode()
    button = result.split('id="continue"', 1)[1].split("</a>", 1)[0]
    assert "Read what you skipped" in button and second.title in button
    assert second.slug in result.split('id="continue"', 1)[0].rsplit("<a", 1)[1]


def test_a_first_time_learner_is_welcomed_not_welcomed_back(learner_client, learner_user):
    page = learner_client.get(reverse("academy:dashboard")).content.decode()
    assert "Welcome to the Aisle Academy" in page and "Welcome back" not in page
    sc = build_course(slug="search-basics")
    services.course_enroll(user=learner_user, course=sc.course)
    assert "Welcome back" in learner_client.get(reverse("academy:dashboard")).content.decode()


def test_role_paths_differ_by_module_and_the_path_page_shows_its_own(learner_client):
    from courses.models import LearningPath

    curriculum_sync.curriculum_load(root=SHIPPED)
    taken = {}
    for path in LearningPath.objects.prefetch_related("steps__course__modules"):
        taken[path.slug] = {
            (s.course.slug, m.slug)
            for s in path.steps.all()
            for m in s.course.modules.all()
            if not s.modules or m.slug in s.modules
        }
    assert set(taken) == {"merchandiser", "analyst", "developer"}
    assert taken["merchandiser"] != taken["analyst"] != taken["developer"] != taken["merchandiser"]
    assert ("data-and-experiments", "ab-testing") in taken["merchandiser"] & taken["analyst"]
    assert ("responsible-and-efficient-ai", "latency-and-cost") in taken["developer"]
    assert ("responsible-and-efficient-ai", "latency-and-cost") not in taken["merchandiser"]
    # the operations course: shared where the roles overlap, its own modules where not
    assert ("operating-aisle", "cockpit-and-search-analytics") in (
        taken["merchandiser"] & taken["analyst"]
    )
    assert ("operating-aisle", "data-value") in taken["analyst"] & taken["developer"]
    assert ("operating-aisle", "data-value") not in taken["merchandiser"]
    assert ("operating-aisle", "reliability") in taken["developer"] - taken["analyst"]

    page = learner_client.get(reverse("academy:path", args=["developer"])).content.decode()
    assert "<li>Latency and cost</li>" in page
    assert "<li>A/B testing that you can trust</li>" not in page


def test_a_path_naming_a_module_its_course_lacks_is_refused(tmp_path):
    import shutil

    from courses.curriculum_format import CurriculumError

    work = tmp_path / "curriculum"
    shutil.copytree(SHIPPED, work)
    paths = work / "paths.yaml"
    paths.write_text(paths.read_text().replace("[retrieval,", "[no-such-module,", 1))
    with pytest.raises(CurriculumError, match="module 'no-such-module' is not in course"):
        read_curriculum(work)
