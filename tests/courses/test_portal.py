"""The portal as a learner uses it (Django test client): sign-in, dashboard, lessons, quizzes,
discussion, labs and certificates; script injection through lessons and posts renders inert."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from courses import services
from courses.models import (
    Attempt,
    LabAttempt,
    LearningPath,
    LearningPathCourse,
    LessonProgress,
    Post,
    Thread,
)
from tests.courses.conftest import quiz_form, right_answers

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror="alert(1)"> [click](javascript:alert(2)) <a href="#" onclick="evil()">a</a>'


def _inert(html: str) -> None:
    lowered = html.lower()
    assert "<script>alert" not in lowered
    assert "onerror=" not in lowered and "onclick=" not in lowered
    assert "javascript:" not in lowered


def _lesson_url(sc, lesson):
    return reverse("academy:lesson", args=[sc.course.slug, lesson.module.slug, lesson.slug])


def test_pages_need_sign_in_and_login_works(client, learner_user, small_course):
    response = client.get(reverse("academy:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith("/academy/login/")
    page = client.get(reverse("academy:login"))
    assert page.status_code == 200 and 'for="id_username"' in page.content.decode()
    response = client.post(
        reverse("academy:login"), {"username": "learner", "password": "pass-1234"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("academy:dashboard")
    client.logout()
    bad = client.post(reverse("academy:login"), {"username": "learner", "password": "nope"})
    assert (
        bad.status_code == 200
        and "Please enter a correct username and password" in bad.content.decode()
    )


def test_dashboard_paths_progress_and_next_step(
    learner_client, learner_user, small_course, django_assert_max_num_queries
):
    path = LearningPath.objects.create(
        slug="merchandiser", title="Merchandiser", role="merchandiser", summary="For merch."
    )
    LearningPathCourse.objects.create(path=path, course=small_course.course, order=1)
    page = learner_client.get(reverse("academy:dashboard")).content.decode()
    assert "Follow this path" in page and "Skip to content" in page

    learner_client.post(reverse("academy:path_follow", args=["merchandiser"]))
    services.lesson_complete(user=learner_user, lesson=small_course.lessons[0])
    with django_assert_max_num_queries(20):
        response = learner_client.get(reverse("academy:dashboard"))
    page = response.content.decode()
    assert "My learning paths" in page and "Merchandiser" in page
    assert "Next up" in page and "Lesson 2" in page  # the first incomplete step
    assert 'aria-valuenow="25"' in page  # 1 of 4 steps (2 lessons, the quiz, the lab)


def test_catalogue_and_course_page(learner_client, small_course):
    assert "Search basics" in learner_client.get(reverse("academy:catalogue")).content.decode()
    page = learner_client.get(reverse("academy:course", args=["search-basics"])).content.decode()
    assert "Retrieval check" in page and "Enrol and start" in page
    response = learner_client.post(reverse("academy:course_enroll", args=["search-basics"]))
    assert response["Location"] == _lesson_url(small_course, small_course.lessons[0])


def test_lesson_renders_markdown_and_marks_complete_with_htmx(
    learner_client, learner_user, small_course
):
    lesson = small_course.lessons[0]
    lesson.body = (
        "# Heading\n\nSome **bold** text.\n\n" + XSS + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    lesson.save()
    page = learner_client.get(_lesson_url(small_course, lesson)).content.decode()
    assert "<strong>bold</strong>" in page and "<table>" in page
    _inert(page.split('class="prose"', 1)[1].split("lesson-footer", 1)[0])

    url = reverse("academy:lesson_complete", args=["search-basics", "retrieval", lesson.slug])
    response = learner_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lesson completed" in body and 'hx-swap-oob="true"' in body
    assert LessonProgress.objects.filter(user=learner_user, lesson=lesson).exists()
    learner_client.post(url, {"action": "undo"}, HTTP_HX_REQUEST="true")
    assert not LessonProgress.objects.filter(user=learner_user, lesson=lesson).exists()
    # without JavaScript the same form redirects back
    assert learner_client.post(url)["Location"] == _lesson_url(small_course, lesson)


def test_quiz_fail_then_pass_through_the_form(learner_client, learner_user, small_course):
    quiz = small_course.quiz
    url = reverse("academy:quiz", args=["search-basics", "retrieval"])
    page = learner_client.get(url).content.decode()
    ordering = quiz.questions.get(kind="ordering")
    assert f'name="q{ordering.pk}_' in page and "Pass mark 70%" in page

    response = learner_client.post(url, {})  # nothing answered
    assert response["Location"].endswith("/quiz/attempts/1/")
    result = learner_client.get(response["Location"]).content.decode()
    assert "Not passed yet" in result and "0 of 3 questions right" in result
    # unlimited attempts: the explanations (which give the answers away) wait for a pass
    assert "Because the second choice is right." not in result

    data = quiz_form(quiz, learner_user, right_answers(quiz))
    response = learner_client.post(url, data)
    assert response["Location"].endswith("/quiz/attempts/2/")
    passed = learner_client.get(response["Location"]).content.decode()
    assert "Passed — well done!" in passed
    assert Attempt.objects.filter(user=learner_user, quiz=quiz, passed=True).count() == 1
    first = learner_client.get(url.replace("/quiz/", "/quiz/attempts/1/")).content.decode()
    assert "Because the second choice is right." in first  # after a pass, every attempt explains
    closed = learner_client.post(url, data, follow=True).content.decode()
    assert "already passed" in closed


def test_ordering_with_duplicate_positions_is_wrong(learner_client, learner_user, small_course):
    quiz = small_course.quiz
    ordering = quiz.questions.get(kind="ordering")
    data = {
        k: "1"
        for k in quiz_form(quiz, learner_user, {ordering.pk: list(range(4))})
        if k.startswith(f"q{ordering.pk}_")
    }
    learner_client.post(reverse("academy:quiz", args=["search-basics", "retrieval"]), data)
    attempt = Attempt.objects.get(user=learner_user, quiz=quiz)
    assert attempt.answers[str(ordering.pk)] == [] and not attempt.feedback[2]["correct"]


def test_discussion_posts_are_sanitised(learner_client, learner_user, small_course):
    lesson = small_course.lessons[0]
    url = reverse("academy:thread_create", args=["search-basics", "retrieval", lesson.slug])
    response = learner_client.post(
        url,
        {"title": "<script>alert(3)</script>Why cosine?", "body": "Hello **all** " + XSS},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>all</strong>" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;Why cosine?" in html  # the title is escaped text
    _inert(html)
    thread = Thread.objects.get(lesson=lesson)
    assert Post.objects.get(thread=thread).body.startswith("Hello")  # stored as written

    reply = learner_client.post(
        reverse("academy:post_create", args=[thread.pk]),
        {"body": "<script>x()</script>thanks"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "thanks" in reply
    _inert(reply)
    for page in (
        learner_client.get(_lesson_url(small_course, lesson)),
        learner_client.get(reverse("academy:thread", args=[thread.pk])),
    ):
        _inert(
            page.content.decode().split(
                'id="discussion"' if "discussion" in page.content.decode() else "<main", 1
            )[-1]
        )
    assert thread.posts.count() == 2


def test_empty_post_is_refused(learner_client, small_course):
    lesson = small_course.lessons[0]
    url = reverse("academy:thread_create", args=["search-basics", "retrieval", lesson.slug])
    html = learner_client.post(
        url, {"title": "Hi", "body": "   "}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'role="alert"' in html and not Thread.objects.exists()


def test_lab_page_start_and_download(learner_client, learner_user, small_course):
    from catalog.models import Category

    Category.objects.create(external_id="shoes", name="Shoes", path="shoes")
    Category.objects.create(external_id="bags", name="Bags", path="bags")
    lab = small_course.lab
    page = learner_client.get(reverse("academy:lab", args=[lab.slug])).content.decode()
    assert "Start the lab" in page and "catalog.add_importrun" in page
    learner_client.post(reverse("academy:lab_start", args=[lab.slug]))
    assert LabAttempt.objects.filter(user=learner_user, lab=lab, status="active").exists()
    page = learner_client.get(reverse("academy:lab", args=[lab.slug])).content.decode()
    assert "Run the check" in page and "Your jobs in the queue" in page

    response = learner_client.get(reverse("academy:lab_download", args=[lab.slug]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 200 and {r["category"] for r in rows} >= {"shoes", "bags"}
    again = learner_client.get(reverse("academy:lab_download", args=[lab.slug]))
    assert again.content == response.content  # deterministic

    check = learner_client.post(
        reverse("academy:lab_check", args=[lab.slug]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Latest check: not yet" in check and "rejected rows of your file" in check


def test_certificates_page_lists_mine(learner_client, learner_user, small_course):
    assert (
        "No certificates yet"
        in learner_client.get(reverse("academy:certificates")).content.decode()
    )
    from courses.models import Certificate

    Certificate.objects.create(
        user=learner_user,
        course=small_course.course,
        code="AISLE-ABCD-EFGH-JKLM",
        learner_name="learner",
        course_title="Search basics",
    )
    page = learner_client.get(reverse("academy:certificates")).content.decode()
    assert (
        "AISLE-ABCD-EFGH-JKLM" in page
        and reverse("academy:certificate", args=["AISLE-ABCD-EFGH-JKLM"]) in page
    )
